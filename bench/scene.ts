// Scenario: one MMO scene. BENCH_SCENE_BOTS (default 2,000) walkers, spread over
// BENCH_SCENE_WALKERS (default 2) driver processes (bench/lib/scene-walkers.ts: raw TCP, bytes
// only), log in through one gateway (32 at a time per driver), enter one scene on one scene
// instance and wait; one signal then starts every walker at once, random-walking at 10 Hz
// (bench/scenarios/lib/random-walk.ts). After a warm-up, BENCH_SECONDS are measured: position
// updates delivered per second (player states in Positions pushes), Positions pushes/s, moves
// sent vs offered, move → neighbour receipt p50/p99 (from the send time the mover puts in seq;
// it includes the wait for the next 50 ms tick), CPU of the gateway, the scene instance,
// nats-server and the drivers, and refusals, kicks and closed connections. The same load runs
// with the nine-grid AOI (default map 1000 × 1000, 50-unit cells) and with it off (settings.aoi
// false: every player sees the whole scene) in the same run, printed side by side (AOI off is
// the baseline column). Warnings and errors of the gateway, scene and nats-server logs are
// summed up on stderr after each mode.
import { readFileSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { benchClusterConfig, benchSeconds, CpuMeter, freePort, sleep, withProcesses, type BenchProcess, type ProcessGroup } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";
import { percentile } from "./scenarios/lib/walk-tally.js";

const SCENARIO = "scene";
const WARMUP_MS = 3_000;
/** Longest wait for every walker to log in and enter before measuring anyway. */
const SETTLE_TIMEOUT_MS = 240_000;
const HZ = 10;
/** How long after the window the drivers keep reading before they are stopped. */
const LATE_MS = 2_000;
const MAX_PENDING_OUTPUT_BYTES = 2 * 1024 * 1024;

/** What one driver process printed at the end. */
interface DriverResult {
  walking: number;
  entered: number;
  failed: number;
  lagP99Ms: number;
  moves: number;
  pushes: number;
  updates: number;
  corrections: number;
  appeared: number;
  disappeared: number;
  errors: Record<string, number>;
  errorSamples: string[];
  kicks: number;
  kickSamples: string[];
  closed: number;
  closeSamples: string[];
  backedUp: number;
  failures: string[];
  latency: [number, number][];
}

/** What a driver printed when stopped: counts over the whole run, after the window too. */
interface DriverFinal {
  errors: Record<string, number>;
  kicks: number;
  closed: number;
  errorSamples: string[];
  kickSamples: string[];
}

/** One mode's measurements, before they become figures. */
interface ModeResult {
  label: string;
  bots: number;
  entered: number;
  failed: number;
  seconds: number;
  rampedS: number;
  load: number;
  moves: number;
  pushes: number;
  updates: number;
  corrections: number;
  refused: number;
  kicks: number;
  closed: number;
  backedUp: number;
  latency: [number, number][];
  lagP99Ms: number;
  cpu: { gateway: number; scene: number; nats: number; drivers: number; login: number };
  starved: { gateway: number; scene: number; nats: number; drivers: number };
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

/**
 * Milliseconds the main thread of `pid` (with `allThreads`, all its threads: nats-server runs
 * Go on several) has spent runnable but waiting for a CPU so far (schedstat, second field, ns):
 * on a shared machine this says whether a process was starved rather than idle.
 */
function waitedMs(pid: number, allThreads = false): number {
  const read = (path: string) => Number(readFileSync(path, "utf8").split(" ")[1]) / 1e6;
  try {
    if (!allThreads) return read(`/proc/${pid}/schedstat`);
    return readdirSync(`/proc/${pid}/task`).reduce((n, t) => n + read(`/proc/${pid}/task/${t}/schedstat`), 0);
  } catch {
    return NaN;
  }
}

/** Lines worth counting below warn: NATS connection trouble and released sessions. */
const NOTABLE = /slow consumer|nats|disconnect|reconnect|orphan|slow reader|kick/i;

/**
 * Counts the warn/error lines of a pino log and its notable info lines (by message), and
 * nats-server's [WRN]/[ERR] lines and notable ones (nats-server logs a slow consumer at [INF]),
 * by text with numbers and addresses masked.
 */
function logTrouble(path: string, sinceMs: number): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    let key: string | null = null;
    if (line.startsWith("{")) {
      try {
        const j = JSON.parse(line) as { level?: number; msg?: string; time?: number };
        if ((j.time ?? 0) < sinceMs) continue;
        if ((j.level ?? 0) >= 40 || NOTABLE.test(j.msg ?? "")) key = j.msg ?? "?";
      } catch {
        // not JSON: a stray line
      }
    } else if (natsLogTime(line) < sinceMs) {
      continue;
    } else if (/\[(WRN|ERR)\]/.test(line) || (/\[INF\]/.test(line) && NOTABLE.test(line))) {
      key = line.replace(/^.*?\[(WRN|ERR|INF)\]\s*/, "$1 ").replace(/\d+(\.\d+)?/g, "N");
    }
    if (key !== null) out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** Epoch ms of a nats-server log line ("[pid] 2026/12/03 16:56:02.601688 [INF] …", the machine's time zone), or 0. */
function natsLogTime(line: string): number {
  const m = /(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  return m === null ? 0 : new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!).getTime();
}

/** Prints what the logs of one mode (lines since `sinceMs`) complained about: the anomalies to explain. */
function reportLogs(g: ProcessGroup, label: string, names: string[], sinceMs: number): void {
  for (const name of names) {
    const counts = logTrouble(join(g.dir, `${name}.log`), sinceMs);
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6);
    step(`${label}: ${name} log: ${top.length === 0 ? "no warnings or errors" : top.map(([m, n]) => `${n}× "${m}"`).join("; ")}`);
  }
}

/** One measured mode (AOI on or off). */
async function measureMode(g: ProcessGroup, nats: BenchProcess, natsUrl: string, redisUrl: string, aoi: boolean, bots: number, drivers: number): Promise<ModeResult> {
  const tag = aoi ? "aoi" : "all";
  const label = aoi ? "nine-grid AOI" : "AOI off";
  const port = await freePort();
  const gwId = `gw-scene-${tag}`;
  const base = benchClusterConfig(natsUrl, redisUrl, [{ id: gwId, port }], {
    // Every walker logs in during the ramp: cheap hashes, and no "login is busy" at this rate.
    login: { instances: 1, settings: { scryptN: 1024, maxConcurrentHashes: 4096 } },
    // Moves are fire-and-forget: no per-session lane of round trips (see README scene, Ordering).
    scene: { instances: 1, ordered: false, settings: { aoi } },
  }) as { gateway: object };
  // 2 MiB of output per connection at most (the bench default is 16): with the AOI off, 2,000
  // readers that fall behind would otherwise hold up to 32 GB in the gateway.
  const cfg = g.config(`scene-${tag}`, { ...base, gateway: { ...base.gateway, requestTimeoutMs: 30_000, maxPendingOutputBytes: MAX_PENDING_OUTPUT_BYTES } });
  // The gateway first: its port was only probed free, and the machine is shared.
  const gateway = await g.gateway(gwId, cfg);
  const login = await g.module("login", `login-${tag}`, cfg);
  const sceneProc = await g.module("scene", `scene-${tag}`, cfg);
  const per = Math.ceil(bots / drivers);
  step(`${label}: ${per * drivers} walkers in ${drivers} driver processes; all start at once after every one entered; ${WARMUP_MS / 1000} s warm-up, then ${benchSeconds()} s measured`);
  const startedAt = Date.now();
  const procs = await Promise.all(
    Array.from({ length: drivers }, (_, i) =>
      g.spawn(`driver-${tag}-${i + 1}`, process.execPath, [new URL("./lib/scene-walkers.js", import.meta.url).pathname, String(port), String(per), `w${tag}${i + 1}`], {
        readyLine: "ready",
        env: { SCENE_WALK_ID: `bench-${tag}` },
      }),
    ),
  );
  const progress = procs.map(() => ({ entered: 0, failed: 0 }));
  procs.forEach((p, i) => onLines(p, "progress", (m: { entered: number; failed: number }) => (progress[i] = m)));
  const settled = () => progress.reduce((n, m) => n + m.entered + m.failed, 0) >= per * drivers;
  while (!settled() && Date.now() - startedAt < SETTLE_TIMEOUT_MS) await sleep(250);
  const rampedS = (Date.now() - startedAt) / 1000;
  step(`${label}: ${progress.reduce((n, m) => n + m.entered, 0)} entered, ${progress.reduce((n, m) => n + m.failed, 0)} failed after ${rampedS.toFixed(1)} s; walking`);
  for (const p of procs) p.proc.kill("SIGHUP");
  await sleep(WARMUP_MS);
  const results = procs.map((p) => lineOf<DriverResult>(p, "result", 60_000));
  const pids = { gateway: gateway.pid, scene: sceneProc.pid, nats: nats.pid, login: login.pid };
  const cpu = new CpuMeter([...Object.values(pids), ...procs.map((p) => p.pid)]);
  // The machine is shared: the load when measuring starts says how much of it the run had.
  const load = loadavg()[0]!;
  const waitPids = [pids.gateway, pids.scene, pids.nats, ...procs.map((p) => p.pid)];
  const waitedOf = (pid: number) => waitedMs(pid, pid === pids.nats);
  const waitedBefore = waitPids.map(waitedOf);
  for (const p of procs) p.proc.kill("SIGUSR1");
  const startAt = Date.now();
  cpu.edge("start");
  await sleep(benchSeconds() * 1000);
  cpu.edge("end");
  const waited = waitPids.map((pid, i) => waitedOf(pid) - waitedBefore[i]!);
  for (const p of procs) p.proc.kill("SIGUSR2");
  const endAt = Date.now();
  const rs = await Promise.all(results);
  // Errors and kicks queued behind the pushes arrive after the window: wait for them, then stop.
  await sleep(LATE_MS);
  const finals = procs.map((p) => lineOf<DriverFinal>(p, "final", 30_000));
  for (const p of procs) await p.stop();
  const fs = await Promise.all(finals);
  for (const p of [sceneProc, login, gateway]) await p.stop();
  reportLogs(g, label, [gwId, `scene-${tag}`, `login-${tag}`, "nats-server"], startedAt);
  for (const [i, r] of rs.entries()) {
    const f = fs[i]!;
    step(`${label}: driver ${i + 1}, whole run: errors ${JSON.stringify(f.errors)}, kicks ${f.kicks}, closed ${f.closed}`);
    const notes = [...f.errorSamples.map((s) => `error ${s}`), ...f.kickSamples.map((s) => `kick ${s}`), ...r.closeSamples, ...r.failures.map((s) => `failed: ${s}`)];
    if (notes.length > 0) step(`${label}: driver ${i + 1}: ${notes.join(" | ")}`);
  }

  const seconds = (endAt - startAt) / 1000;
  const sum = (k: "moves" | "pushes" | "updates" | "corrections" | "kicks" | "closed" | "backedUp" | "entered" | "failed") => rs.reduce((n, r) => n + r[k], 0);
  const pct = (pid: number) => ((cpu.used.get(pid) ?? 0) / (seconds * 1000)) * 100;
  return {
    label,
    bots: per * drivers,
    entered: sum("entered"),
    failed: sum("failed"),
    seconds,
    rampedS,
    load,
    moves: sum("moves"),
    pushes: sum("pushes"),
    updates: sum("updates"),
    corrections: sum("corrections"),
    refused: rs.reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0),
    kicks: sum("kicks"),
    closed: sum("closed"),
    backedUp: sum("backedUp"),
    latency: rs.flatMap((r) => r.latency),
    lagP99Ms: Math.max(...rs.map((r) => r.lagP99Ms)),
    // Share of the window each main thread was runnable but not running (waiting for a CPU).
    starved: {
      gateway: (waited[0]! / (seconds * 1000)) * 100,
      scene: (waited[1]! / (seconds * 1000)) * 100,
      nats: (waited[2]! / (seconds * 1000)) * 100,
      drivers: (waited.slice(3).reduce((a, b) => a + b, 0) / procs.length / (seconds * 1000)) * 100,
    },
    cpu: {
      gateway: pct(pids.gateway),
      scene: pct(pids.scene),
      nats: pct(pids.nats),
      login: pct(pids.login),
      drivers: procs.reduce((n, p) => n + pct(p.pid), 0),
    },
  };
}

/** µs of CPU (a process' `pct` of the window) per unit of work; NaN ("—") when none was done. */
function perUnit(pct: number, m: ModeResult, units: number): number {
  return units > 0 ? (pct * m.seconds * 10_000) / units : NaN;
}

/** AOI on as the value, AOI off as the same-run baseline, one figure per measure. */
function sideBySide(on: ModeResult, off: ModeResult): Figure[] {
  const rows: [string, string, (m: ModeResult) => number][] = [
    ["position updates delivered/s", "msg/s", (m) => m.updates / m.seconds],
    ["Positions pushes/s", "msg/s", (m) => m.pushes / m.seconds],
    ["updates delivered per move sent", "", (m) => m.updates / Math.max(1, m.moves)],
    ["moves sent/s", "msg/s", (m) => m.moves / m.seconds],
    [`moves offered/s (walkers entered × ${HZ} Hz)`, "msg/s", (m) => m.entered * HZ],
    ["move → neighbour receipt p50", "ms", (m) => percentile(m.latency, 50)],
    ["move → neighbour receipt p99", "ms", (m) => percentile(m.latency, 99)],
    ["gateway CPU", "%", (m) => m.cpu.gateway],
    ["scene instance CPU", "%", (m) => m.cpu.scene],
    ["nats-server CPU", "%", (m) => m.cpu.nats],
    ["driver processes CPU (sum)", "%", (m) => m.cpu.drivers],
    ["gateway main thread waiting for a CPU (runnable, not running)", "%", (m) => m.starved.gateway],
    ["scene main thread waiting for a CPU", "%", (m) => m.starved.scene],
    ["nats-server threads waiting for a CPU (sum)", "%", (m) => m.starved.nats],
    ["driver main threads waiting for a CPU (mean)", "%", (m) => m.starved.drivers],
    ["scene CPU per move sent", "µs", (m) => perUnit(m.cpu.scene, m, m.moves)],
    ["gateway CPU per update delivered", "µs", (m) => perUnit(m.cpu.gateway, m, m.updates)],
    ["refused moves/chats (ERROR to a NOTIFY)", "", (m) => m.refused],
    ["corrections (speed check)", "", (m) => m.corrections],
    ["kicks + connections closed while walking", "", (m) => m.kicks + m.closed],
    ["moves skipped (socket backed up)", "", (m) => m.backedUp],
    ["walkers entered", "", (m) => m.entered],
    ["walkers failed", "", (m) => m.failed],
    ["log in + enter, every walker (s)", "s", (m) => m.rampedS],
    ["drivers: worst p99 event-loop delay", "ms", (m) => m.lagP99Ms],
    ["load average (1 min) when measuring started", "", (m) => m.load],
  ];
  return rows.map(([what, unit, f]) => ({
    scenario: SCENARIO,
    name: `${on.bots} walkers, nine-grid AOI: ${what}`,
    value: f(on),
    unit,
    baseline: { name: `AOI off (${off.bots})`, value: f(off) },
  }));
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const bots = Math.max(2, Number(process.env.BENCH_SCENE_BOTS ?? 2_000));
  const drivers = Math.max(1, Number(process.env.BENCH_SCENE_WALKERS ?? 2));
  const botsAoiOff = Math.max(2, Number(process.env.BENCH_SCENE_BOTS_AOI_OFF ?? bots));
  return withProcesses(async (g) => {
    const nats = await g.nats();
    const redis = await g.redis();
    const on = await measureMode(g, nats.proc, nats.url, redis.url, true, bots, drivers);
    const off = await measureMode(g, nats.proc, nats.url, redis.url, false, botsAoiOff, drivers);
    return sideBySide(on, off);
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
