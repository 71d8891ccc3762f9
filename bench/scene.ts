// Scenario: one MMO scene. BENCH_SCENE_BOTS (default 2,000) bots from BENCH_SCENE_WALKERS
// (default 2) walker processes log in through one gateway, enter one scene on one scene
// instance and random-walk at 10 Hz (bench/scenarios/scene-walk.ts). Measured over
// BENCH_SECONDS once every bot walks: position updates delivered per second (player states in
// Positions pushes), Positions pushes/s, moves sent/s, move → neighbour receipt (p50/p99; it
// includes the wait for the next 50 ms tick), and the CPU of the gateway and the scene
// instance. The same load runs twice in one run: with the nine-grid AOI (default map 1000 ×
// 1000, 50-unit cells) and with it off (settings.aoi false: every player sees the whole scene;
// BENCH_SCENE_BOTS_AOI_OFF bots, default the same number).
import { loadavg } from "node:os";
import { benchClusterConfig, benchSeconds, CpuMeter, freePort, sleep, withProcesses, type BenchProcess, type ProcessGroup } from "./lib/processes.js";
import { epochMs } from "./lib/receivers.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";
import { percentile } from "./scenarios/lib/walk-tally.js";

const SCENARIO = "scene";
const WARMUP_MS = 3_000;

/** What one walker process printed. */
interface WalkerResult {
  moves: number;
  pushes: number;
  updates: number;
  corrections: number;
  appeared: number;
  disappeared: number;
  latency: [number, number][];
}

interface WalkerReport {
  bots: number;
  failed: number;
  reasons: { reason: string; bots: number }[];
}

/** Resolves with the JSON after `<prefix> ` on a line of the process' stdout. */
function lineOf<T>(p: BenchProcess, prefix: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let rest = "";
    const timer = setTimeout(() => reject(new Error(`${p.name}: no "${prefix}" line within ${timeoutMs} ms`)), timeoutMs);
    p.proc.stdout!.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith(`${prefix} `)) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(prefix.length + 1)) as T);
      }
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
  const t0 = epochMs() + 2_000;
  const startAt = t0 + rampS * 1000 + WARMUP_MS;
  const endAt = startAt + benchSeconds() * 1000;
  step(`${label}: ${per * walkers} bots in ${walkers} walker processes, ramp ${rampS} s, warm-up ${WARMUP_MS / 1000} s, ${benchSeconds()} s measured`);
  const procs = await Promise.all(
    Array.from({ length: walkers }, (_, i) =>
      g.spawn(`walkers-${tag}-${i + 1}`, process.execPath, [new URL("./lib/scene-walkers.js", import.meta.url).pathname, String(port), String(per), String(rampS), String(startAt), String(endAt)], {
        readyLine: "ready",
        env: { SCENE_WALK_ID: `bench-${tag}` },
      }),
    ),
  );
  const waitMs = endAt - epochMs() + 60_000;
  const results = procs.map((p) => lineOf<WalkerResult>(p, "result", waitMs));
  const reports = procs.map((p) => lineOf<WalkerReport>(p, "report", waitMs + 30_000));
  const cpu = new CpuMeter([gateway.pid, sceneProc.pid]);
  await sleep(startAt - epochMs());
  cpu.edge("start");
  // The machine is shared: the load when measuring starts says how much of it the run had.
  const load = loadavg()[0]!;
  await sleep(endAt - epochMs());
  cpu.edge("end");
  const rs = await Promise.all(results);
  const reps = await Promise.all(reports);
  for (const p of [...procs, gateway, sceneProc, login]) await p.stop();

  const seconds = (endAt - startAt) / 1000;
  const sum = (k: keyof Omit<WalkerResult, "latency">) => rs.reduce((n, r) => n + r[k], 0);
  const latency = rs.flatMap((r) => r.latency);
  const failed = reps.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) step(`${label}: ${failed} bots failed: ${JSON.stringify(reps.flatMap((r) => r.reasons).slice(0, 5))}`);
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
    { scenario: SCENARIO, name: name("corrections (speed check)"), value: sum("corrections"), unit: "" },
    { scenario: SCENARIO, name: name("bots failed"), value: failed, unit: "" },
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
