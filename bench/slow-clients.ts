// Scenario: many slow clients, the shape of a real game. 10,000 connections (BENCH_SLOW_CLIENTS)
// to one gateway, spread over BENCH_SLOW_DRIVERS (default 4) driver processes
// (bench/lib/slow-driver.ts); each logs in once (and creates its team), then sends requests at
// an even pace over a mix of rank/team/game routes (open loop), and gets 1 push/s from a module
// (bench/lib/push-module.ts, pushToUids). Offered totals BENCH_SLOW_RATES (default 1000, 5000,
// 20000 rps: 0.1, 0.5 and 2 requests/s per client). Next to each, in the same run, the same
// total from 100 fast clients (their own logged-in users; 1 push/s each to those 100).
// Reported: p50/p99, requests answered/s, gateway and module CPU per request, RSS.
// BENCH_BEFORE_ROOT=<a built older checkout> runs the same loads on its gateway and modules first.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { benchBuilds, startGateway, startModule, type Build } from "./lib/builds.js";
import { Histogram } from "./lib/load.js";
import { CpuMeter, LIB_DIR, benchClusterConfig, benchSeconds, freePort, rssKiB, sleep, withProcesses, type BenchProcess, type ProcessGroup } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";
import { PUSHER_SUBJECT, SLOW_BOARD, driverSubject, type DriverResult, type DriverRun } from "./lib/slow-plan.js";

const SCENARIO = "slow-clients";
const FAST_CLIENTS = 100;
/** Route modules (their CPU is "module CPU per request"). */
const ROUTE_MODULES = ["rank", "team", "game"] as const;

/** One group of drivers (the slow clients, or the fast ones). */
interface DriverGroup {
  names: string[];
  procs: BenchProcess[];
  clients: number;
  uids: string[];
}

/** What one load on one group measured. */
interface Window {
  clients: number;
  offered: number;
  answeredRps: number;
  p50: number;
  p99: number;
  errors: number;
  skipped: number;
  /** Requests sent in the window (offered minus skipped, as paced). */
  sent: number;
  unanswered: number;
  pushes: number;
  gatewayCpuMs: number;
  moduleCpuMs: number;
  loginCpuMs: number;
  pusherCpuMs: number;
  /** Every load driver process of the scenario (slow and fast). */
  driverCpuMs: number;
  natsRedisCpuMs: number;
  /** The whole machine's busy share over the window, in % of all its cores (/proc/stat). */
  machineBusyPct: number;
  seconds: number;
  requests: number;
}

function rates(): number[] {
  const raw = process.env.BENCH_SLOW_RATES ?? "1000,5000,20000";
  return raw.split(",").map(Number).filter((n) => Number.isFinite(n) && n > 0);
}

function load(): string {
  return loadavg().map((x) => x.toFixed(2)).join(" ");
}

async function startDrivers(g: ProcessGroup, label: string, port: number, natsUrl: string, clients: number, processes: number, nc: NatsConnection): Promise<DriverGroup> {
  const per = Math.ceil(clients / processes);
  const names = Array.from({ length: processes }, (_, i) => `${label}-${i + 1}`);
  const procs = await Promise.all(
    names.map((n, i) => g.spawn(n, process.execPath, [join(LIB_DIR, "slow-driver.js"), n, String(port), String(Math.min(per, clients - i * per)), natsUrl, `${n}-u`], { readyLine: "ready", timeoutMs: 600_000 })),
  );
  const uids: string[] = [];
  for (const n of names) uids.push(...(JSON.parse(new TextDecoder().decode((await nc.request(driverSubject(n), new TextEncoder().encode(JSON.stringify({ kind: "uids" })), { timeout: 30_000 })).data)) as string[]));
  return { names, procs, clients: uids.length, uids };
}

/** Points the push module at `uids` (1 push/s each); resolves once it applied them. */
async function pushTo(nc: NatsConnection, uids: string[]): Promise<string> {
  const r = await nc.request(PUSHER_SUBJECT, new TextEncoder().encode(JSON.stringify({ uids })), { timeout: 10_000 });
  return (JSON.parse(new TextDecoder().decode(r.data)) as { api: string }).api;
}

/** Runs `total` rps over the group's clients for a warmup and a window; CPU is read over the window. */
/** Busy and total jiffies of the whole machine so far (first line of /proc/stat). */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - (f[4] ?? 0), total };
}

/** The processes whose CPU a window reads. */
interface Measured {
  gateway: BenchProcess;
  modules: BenchProcess[];
  login: BenchProcess;
  pusher: BenchProcess;
  drivers: BenchProcess[];
  servers: BenchProcess[];
}

async function measure(nc: NatsConnection, group: DriverGroup, total: number, procs: Measured): Promise<Window> {
  const measureMs = benchSeconds() * 1000;
  const warmupMs = 2_000;
  const run: DriverRun = { kind: "run", rate: total / group.clients, warmupMs, measureMs };
  const body = new TextEncoder().encode(JSON.stringify(run));
  const replies = group.names.map((n) => nc.request(driverSubject(n), body, { timeout: warmupMs + measureMs + 30_000 }));
  const pids = [procs.gateway.pid, procs.login.pid, procs.pusher.pid, ...procs.modules.map((m) => m.pid), ...procs.drivers.map((d) => d.pid), ...procs.servers.map((p) => p.pid)];
  const cpu = new CpuMeter(pids);
  await sleep(warmupMs);
  cpu.edge("start");
  const m0 = machineJiffies();
  await sleep(measureMs);
  cpu.edge("end");
  const m1 = machineJiffies();
  const results = (await Promise.all(replies)).map((r) => JSON.parse(new TextDecoder().decode(r.data)) as DriverResult);
  const hist = new Histogram();
  let ok = 0;
  let errors = 0;
  let skipped = 0;
  let pushes = 0;
  let sent = 0;
  let unanswered = 0;
  for (const r of results) {
    sent += r.sent;
    unanswered += r.unanswered;
    hist.addSparse(r.hist);
    ok += r.ok;
    errors += Object.values(r.errors).reduce((a, b) => a + b, 0);
    skipped += r.skipped;
    pushes += r.pushes;
    for (const [code, n] of Object.entries(r.errors)) step(`  errors code ${code}: ${n}`);
  }
  const seconds = measureMs / 1000;
  const used = (pid: number): number => cpu.used.get(pid) ?? 0;
  return {
    clients: group.clients,
    offered: total,
    answeredRps: (ok + errors) / seconds,
    p50: hist.percentile(0.5),
    p99: hist.percentile(0.99),
    errors,
    skipped,
    sent,
    unanswered,
    pushes,
    gatewayCpuMs: used(procs.gateway.pid),
    moduleCpuMs: procs.modules.reduce((a, m) => a + used(m.pid), 0),
    loginCpuMs: used(procs.login.pid),
    pusherCpuMs: used(procs.pusher.pid),
    driverCpuMs: procs.drivers.reduce((a, d) => a + used(d.pid), 0),
    natsRedisCpuMs: procs.servers.reduce((a, p) => a + used(p.pid), 0),
    machineBusyPct: (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total),
    seconds,
    requests: ok + errors,
  };
}

function describe(label: string, w: Window): string {
  const perReq = (ms: number): string => (w.requests > 0 ? ((ms * 1000) / w.requests).toFixed(1) : "—");
  return `${label}: ${w.clients} clients, offered ${w.offered} rps, sent ${Math.round(w.sent / w.seconds)}/s → ${Math.round(w.answeredRps)} answered/s, ${Math.round((w.requests - w.errors) / w.seconds)} of them OK (${w.unanswered} unanswered 20 s later), p50 ${w.p50.toFixed(2)} ms, p99 ${w.p99.toFixed(2)} ms, errors ${w.errors}, skipped ${w.skipped}, pushes ${Math.round(w.pushes / w.seconds)}/s; CPU per request: gateway ${perReq(w.gatewayCpuMs)} µs, rank+team+game ${perReq(w.moduleCpuMs)} µs; CPU % over the window: gateway ${((w.gatewayCpuMs / w.seconds) / 10).toFixed(0)}, modules ${((w.moduleCpuMs / w.seconds) / 10).toFixed(0)}, pusher ${((w.pusherCpuMs / w.seconds) / 10).toFixed(0)}, login ${((w.loginCpuMs / w.seconds) / 10).toFixed(0)}, load drivers ${((w.driverCpuMs / w.seconds) / 10).toFixed(0)}, nats+redis ${((w.natsRedisCpuMs / w.seconds) / 10).toFixed(0)}; machine busy ${w.machineBusyPct.toFixed(0)} % of all cores (load average ${load()})`;
}

async function measureBuild(g: ProcessGroup, build: Build, servers: BenchProcess[], natsUrl: string, redisUrl: string, figures: Figure[], labelled: boolean): Promise<void> {
  const clients = Math.max(1, Number(process.env.BENCH_SLOW_CLIENTS ?? 10_000));
  const driverProcs = Math.max(1, Number(process.env.BENCH_SLOW_DRIVERS ?? 4));
  const port = await freePort();
  const gwId = `gw-slow-${build.label}`;
  const cfg = g.config(
    `cluster-slow-${build.label}`,
    benchClusterConfig(natsUrl, redisUrl, [{ id: gwId, port }], {
      // hashing is not what is measured: the cheapest scrypt cost the settings allow
      login: { instances: 1, settings: { scryptN: 16 } },
      rank: { instances: 1, settings: { boards: { [SLOW_BOARD]: { policy: "best", clientSubmit: { min: 0, max: 1_000_000 } } } } },
      team: { instances: 1 },
      game: { instances: 1 },
      pusher: { instances: 1 },
    }),
  );
  step(`${build.label}: gateway ${gwId} and login, rank, team, game, pusher modules (${build.cli})`);
  const login = await startModule(g, build, "login", `login-${build.label}`, cfg);
  const modules: BenchProcess[] = [];
  for (const m of ROUTE_MODULES) modules.push(await startModule(g, build, m, `${m}-${build.label}`, cfg));
  const pusher = await g.spawn(`pusher-${build.label}`, process.execPath, [build.cli, "module", "pusher", "--instance", `pusher-${build.label}`, "--config", cfg, "--from", join(LIB_DIR, "push-module.js")], {
    readyLine: "module ready",
    env: build.env,
  });
  const gateway = await startGateway(g, build, gwId, cfg);
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const procs: Measured = { gateway, modules, login, pusher, drivers: [], servers };
  try {
    step(`${build.label}: ${clients} slow clients over ${driverProcs} driver processes log in (register, login, team.Create) …`);
    const t0 = Date.now();
    const slow = await startDrivers(g, `slow-${build.label}`, port, natsUrl, clients, driverProcs, nc);
    step(`${build.label}: ${slow.clients} logged in after ${((Date.now() - t0) / 1000).toFixed(1)} s; gateway RSS ${(await rssKiB(gateway.pid)).toFixed(0)} KiB`);
    const fast = await startDrivers(g, `fast-${build.label}`, port, natsUrl, FAST_CLIENTS, 1, nc);
    procs.drivers.push(...slow.procs, ...fast.procs);
    const prefix = labelled ? `${build.label}: ` : "";
    for (const total of rates()) {
      // the fast clients first: an overloaded slow window leaves less behind for the next level than the reverse
      await pushTo(nc, fast.uids);
      const wf = await measure(nc, fast, total, procs);
      step(describe(`${build.label} fast`, wf));
      await sleep(1_000);
      const api = await pushTo(nc, slow.uids);
      const ws = await measure(nc, slow, total, procs);
      const rss = await rssKiB(gateway.pid);
      step(describe(`${build.label} slow (pushes via ${api})`, ws) + `; gateway RSS ${rss} KiB`);
      await pushTo(nc, []);
      await sleep(1_000);
      const at = `${prefix}${total.toLocaleString("en-US")} rps offered`;
      const fastName = `${FAST_CLIENTS} fast clients`;
      const perReq = (ms: number, w: Window): number => (w.requests > 0 ? (ms * 1000) / w.requests : NaN);
      const okRps = (w: Window): number => (w.requests - w.errors) / w.seconds;
      figures.push({ scenario: SCENARIO, name: `${at}, ${ws.clients} slow clients: answered OK`, value: okRps(ws), unit: "rps", baseline: { name: fastName, value: okRps(wf) } });
      figures.push({ scenario: SCENARIO, name: `${at}, ${ws.clients} slow clients: p50`, value: ws.p50, unit: "ms", baseline: { name: fastName, value: wf.p50 } });
      figures.push({ scenario: SCENARIO, name: `${at}, ${ws.clients} slow clients: p99`, value: ws.p99, unit: "ms", baseline: { name: fastName, value: wf.p99 } });
      figures.push({ scenario: SCENARIO, name: `${at}: gateway CPU per request (slow: + 1 push/s per client)`, value: perReq(ws.gatewayCpuMs, ws), unit: "µs", baseline: { name: fastName, value: perReq(wf.gatewayCpuMs, wf) } });
      const corePct = (ms: number, w: Window): number => ms / w.seconds / 10;
      figures.push({ scenario: SCENARIO, name: `${at}: gateway CPU, % of a core (slow: + 1 push/s per client)`, value: corePct(ws.gatewayCpuMs, ws), unit: "%", baseline: { name: fastName, value: corePct(wf.gatewayCpuMs, wf) } });
      figures.push({ scenario: SCENARIO, name: `${at}: machine busy, % of all cores`, value: ws.machineBusyPct, unit: "%", baseline: { name: fastName, value: wf.machineBusyPct } });
      figures.push({ scenario: SCENARIO, name: `${at}: rank+team+game CPU, % of a core`, value: corePct(ws.moduleCpuMs, ws), unit: "%", baseline: { name: fastName, value: corePct(wf.moduleCpuMs, wf) } });
      figures.push({ scenario: SCENARIO, name: `${at}: rank+team+game CPU per request`, value: perReq(ws.moduleCpuMs, ws), unit: "µs", baseline: { name: fastName, value: perReq(wf.moduleCpuMs, wf) } });
      figures.push({ scenario: SCENARIO, name: `${at}: push module CPU per push (${api})`, value: ws.pushes > 0 ? (ws.pusherCpuMs * 1000) / ws.pushes : NaN, unit: "µs" });
      figures.push({ scenario: SCENARIO, name: `${at}: pushes received/s by ${ws.clients} slow clients`, value: ws.pushes / ws.seconds, unit: "/s" });
      figures.push({ scenario: SCENARIO, name: `${at}: gateway RSS with ${ws.clients + wf.clients} connections`, value: rss / 1024, unit: "MiB" });
      if (ws.errors + ws.skipped + ws.unanswered + wf.errors + wf.skipped + wf.unanswered > 0) {
        figures.push({ scenario: SCENARIO, name: `${at}: requests failed, skipped or unanswered (slow)`, value: ws.errors + ws.skipped + ws.unanswered, unit: "", baseline: { name: fastName, value: wf.errors + wf.skipped + wf.unanswered } });
      }
    }
  } finally {
    await nc.close();
    for (const p of [gateway, pusher, ...modules, login]) await p.stop();
  }
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const builds = benchBuilds();
  return withProcesses(async (g) => {
    const figures: Figure[] = [];
    const [nats, redis] = await Promise.all([g.nats(), g.redis()]);
    for (const build of builds) await measureBuild(g, build, [nats.proc, redis.proc], nats.url, redis.url, figures, builds.length > 1);
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
