// Scenario: one MMO scene. BENCH_SCENE_BOTS (default 2,000) bots from BENCH_SCENE_WALKERS
// (default 2) walker processes log in through one gateway, enter one scene on one scene
// instance and random-walk at 10 Hz (bench/scenarios/scene-walk.ts). Measured over
// BENCH_SECONDS once every bot walks: position updates delivered per second (player states in
// Positions pushes), Positions pushes/s, moves sent/s, move → neighbour receipt (p50/p99; it
// includes the wait for the next 50 ms tick), and the CPU of the gateway and the scene
// instance. Measuring starts once every bot walks (or failed). The same load runs twice in one run: with the nine-grid AOI (default map 1000 ×
// 1000, 50-unit cells) and with it off (settings.aoi false: every player sees the whole scene;
// BENCH_SCENE_BOTS_AOI_OFF bots, default the same number).
import { loadavg } from "node:os";
import { benchClusterConfig, benchSeconds, CpuMeter, freePort, sleep, withProcesses, type BenchProcess, type ProcessGroup } from "./lib/processes.js";
import { epochMs } from "./lib/receivers.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";
import { percentile } from "./scenarios/lib/walk-tally.js";

const SCENARIO = "scene";
const WARMUP_MS = 3_000;
/** Longest wait for every bot to log in and enter before measuring anyway. */
const SETTLE_TIMEOUT_MS = 180_000;

/** What one walker process printed. */
interface WalkerResult {
  /** Bots in the scene when measuring ended. */
  walking: number;
  /** Bots of the process that failed (cannot connect, log in or enter). */
  failed: number;
  /** p99 event-loop delay of the walker process while measuring. */
  lagP99Ms: number;
  moves: number;
  pushes: number;
  updates: number;
  corrections: number;
  appeared: number;
  disappeared: number;
  latency: [number, number][];
}

/** Calls `fn` with the JSON after `<prefix> ` on every line of the process' stdout. */
function onLines<T>(p: BenchProcess, prefix: string, fn: (m: T) => void): void {
  let rest = "";
  p.proc.stdout!.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop()!;
    for (const line of lines) if (line.startsWith(`${prefix} `)) fn(JSON.parse(line.slice(prefix.length + 1)) as T);
  });
}

/** Resolves with the JSON of the next `<prefix> ` line of the process' stdout. */
function lineOf<T>(p: BenchProcess, prefix: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${p.name}: no "${prefix}" line within ${timeoutMs} ms`)), timeoutMs);
    onLines<T>(p, prefix, (m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
}

/** One measured mode (AOI on or off). */
async function measureMode(g: ProcessGroup, natsUrl: string, redisUrl: string, aoi: boolean, bots: number, walkers: number, rampS: number): Promise<Figure[]> {
  const tag = aoi ? "aoi" : "all";
  const label = aoi ? "nine-grid AOI" : "AOI off (whole scene)";
  const port = await freePort();
  const gwId = `gw-scene-${tag}`;
  const base = benchClusterConfig(natsUrl, redisUrl, [{ id: gwId, port }], {
    // Every bot logs in during the ramp: cheap hashes, and no "login is busy" at this rate.
    login: { instances: 1, settings: { scryptN: 1024, maxConcurrentHashes: 4096 } },
    // Moves are fire-and-forget: no per-session lane of round trips (see README scene, Ordering).
    scene: { instances: 1, ordered: false, settings: { aoi } },
  }) as { gateway: object };
  const cfg = g.config(`scene-${tag}`, { ...base, gateway: { ...base.gateway, requestTimeoutMs: 30_000 } });
  // The gateway first: its port was only probed free, and the machine is shared.
  const gateway = await g.gateway(gwId, cfg);
  const login = await g.module("login", `login-${tag}`, cfg);
  const sceneProc = await g.module("scene", `scene-${tag}`, cfg);
  const per = Math.ceil(bots / walkers);
  step(`${label}: ${per * walkers} bots in ${walkers} walker processes, ramp ${rampS} s; measuring starts ${WARMUP_MS / 1000} s after every bot walks (or failed), for ${benchSeconds()} s`);
  const procs = await Promise.all(
    Array.from({ length: walkers }, (_, i) =>
      g.spawn(`walkers-${tag}-${i + 1}`, process.execPath, [new URL("./lib/scene-walkers.js", import.meta.url).pathname, String(port), String(per), String(rampS)], {
        readyLine: "ready",
        env: { SCENE_WALK_ID: `bench-${tag}` },
      }),
    ),
  );
  const progress = procs.map(() => ({ walking: 0, failed: 0 }));
  procs.forEach((p, i) => onLines(p, "progress", (m: { walking: number; failed: number }) => (progress[i] = m)));
  const settledBy = epochMs() + SETTLE_TIMEOUT_MS;
  const settled = () => progress.reduce((n, m) => n + m.walking + m.failed, 0) >= per * walkers;
  while (!settled() && epochMs() < settledBy) await sleep(250);
  const rampedS = (epochMs() - (settledBy - SETTLE_TIMEOUT_MS)) / 1000;
  step(`${label}: ${progress.reduce((n, m) => n + m.walking, 0)} walking, ${progress.reduce((n, m) => n + m.failed, 0)} failed after ${rampedS.toFixed(1)} s`);
  await sleep(WARMUP_MS);
  const results = procs.map((p) => lineOf<WalkerResult>(p, "result", 60_000));
  const cpu = new CpuMeter([gateway.pid, sceneProc.pid]);
  // The machine is shared: the load when measuring starts says how much of it the run had.
  const load = loadavg()[0]!;
  for (const p of procs) p.proc.kill("SIGUSR1");
  const startAt = epochMs();
  cpu.edge("start");
  await sleep(benchSeconds() * 1000);
  for (const p of procs) p.proc.kill("SIGUSR2");
  cpu.edge("end");
  const endAt = epochMs();
  const rs = await Promise.all(results);
  for (const p of [...procs, gateway, sceneProc, login]) await p.stop();

  const seconds = (endAt - startAt) / 1000;
  const sum = (k: "walking" | "moves" | "pushes" | "updates" | "corrections") => rs.reduce((n, r) => n + r[k], 0);
  const latency = rs.flatMap((r) => r.latency);
  const failed = rs.reduce((n, r) => n + r.failed, 0);
  const cpuPct = (pid: number) => ((cpu.used.get(pid) ?? 0) / (seconds * 1000)) * 100;
  const name = (what: string) => `${label}, ${per * walkers} bots: ${what}`;
  return [
    { scenario: SCENARIO, name: name("position updates delivered/s"), value: sum("updates") / seconds, unit: "msg/s" },
    { scenario: SCENARIO, name: name("Positions pushes/s"), value: sum("pushes") / seconds, unit: "msg/s" },
    { scenario: SCENARIO, name: name("moves sent/s (10 Hz per bot)"), value: sum("moves") / seconds, unit: "msg/s" },
    { scenario: SCENARIO, name: name("move → neighbour receipt p50"), value: percentile(latency, 50), unit: "ms" },
    { scenario: SCENARIO, name: name("move → neighbour receipt p99"), value: percentile(latency, 99), unit: "ms" },
    { scenario: SCENARIO, name: name("gateway CPU"), value: cpuPct(gateway.pid), unit: "%" },
    { scenario: SCENARIO, name: name("scene instance CPU"), value: cpuPct(sceneProc.pid), unit: "%" },
    // CPU time per unit of work depends far less on what else runs on the machine than rates do.
    { scenario: SCENARIO, name: name("scene instance CPU per move sent (incl. its batching and pushes)"), value: ((cpu.used.get(sceneProc.pid) ?? 0) * 1000) / Math.max(1, sum("moves")), unit: "µs" },
    { scenario: SCENARIO, name: name("gateway CPU per Positions push delivered (incl. forwarding the moves)"), value: ((cpu.used.get(gateway.pid) ?? 0) * 1000) / Math.max(1, sum("pushes")), unit: "µs" },
    { scenario: SCENARIO, name: name("corrections (speed check)"), value: sum("corrections"), unit: "" },
    { scenario: SCENARIO, name: name("time until every bot walked (log in + enter, ramped)"), value: rampedS, unit: "s" },
    { scenario: SCENARIO, name: name("bots walking in the scene when measuring ended"), value: sum("walking"), unit: "" },
    { scenario: SCENARIO, name: name("bots failed"), value: failed, unit: "" },
    { scenario: SCENARIO, name: name("walker processes: worst p99 event-loop delay"), value: Math.max(...rs.map((r) => r.lagP99Ms)), unit: "ms" },
    { scenario: SCENARIO, name: name("machine load average (1 min) when measuring started"), value: load, unit: "" },
  ];
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const bots = Math.max(2, Number(process.env.BENCH_SCENE_BOTS ?? 2_000));
  const walkers = Math.max(1, Number(process.env.BENCH_SCENE_WALKERS ?? 2));
  const rampS = Number(process.env.BENCH_SCENE_RAMP ?? Math.max(2, Math.ceil(bots / 200)));
  return withProcesses(async (g) => {
    const nats = await g.nats();
    const redis = await g.redis();
    const figures: Figure[] = [];
    const botsAoiOff = Math.max(2, Number(process.env.BENCH_SCENE_BOTS_AOI_OFF ?? bots));
    figures.push(...(await measureMode(g, nats.url, redis.url, true, bots, walkers, rampS)));
    figures.push(...(await measureMode(g, nats.url, redis.url, false, botsAoiOff, walkers, rampS)));
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
