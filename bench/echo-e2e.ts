// Scenario: end-to-end echo, client TCP → gateway → NATS → echo module → back, against two raw
// baselines measured in the same run: `nc.request()` at 256 in flight (one responder process)
// and a raw Node TCP echo server driven by the same load generator at the same loads.
// Ordered next to unordered: the same echo instance behind two gateways, one whose config keeps
// echo ordered (the default for a module) and one with `ordered: false`, each load run on both
// in turn (ABBA, means of two windows each). BENCH_BEFORE_ROOT=<another built checkout> measures its gateways and module the same
// way in the same run ("before" rows).
import { runWireLoad, type LoadResult } from "./lib/load.js";
import { runNatsRequestLoad } from "./lib/nats-load.js";
import { BEFORE_ROOT, CpuMeter, benchClusterConfig, benchSeconds, freePort, withProcesses, type BenchProcess, type ProcessGroup } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "echo-e2e";
/** echo.EchoMessage { data: 64 bytes } encoded by hand (field 2, length-delimited). */
export const ECHO_BODY = Buffer.concat([Buffer.from([0x12, 64]), Buffer.alloc(64, 0x61)]);
const LOADS = [
  { connections: 100, inflight: 16 },
  { connections: 100, inflight: 1 },
] as const;

function label(l: { connections: number; inflight: number }): string {
  return `${l.connections}×${l.inflight}`;
}

/** One echo instance behind an unordered and an ordered gateway, of one build. */
interface EchoPair {
  module: BenchProcess;
  unordered: { gw: BenchProcess; port: number };
  ordered: { gw: BenchProcess; port: number };
}

/** What one load run through one gateway gave. */
interface EchoRun {
  result: LoadResult;
  /** CPU µs per request of the gateway and of the module. */
  gatewayUs: number;
  moduleUs: number;
}

async function startPair(g: ProcessGroup, natsUrl: string, tag: string, root: string | null): Promise<EchoPair> {
  const [pu, po] = [await freePort(), await freePort()];
  const cfgU = g.config(`cluster-${tag}-u`, benchClusterConfig(natsUrl, "redis://127.0.0.1:1", [{ id: `gw-${tag}u`, port: pu }], { echo: { instances: 1, ordered: false } }));
  const cfgO = g.config(`cluster-${tag}-o`, benchClusterConfig(natsUrl, "redis://127.0.0.1:1", [{ id: `gw-${tag}o`, port: po }], { echo: { instances: 1 } }));
  const module = await g.module("echo", `echo-${tag}`, cfgU, [], root);
  const gwU = await g.gateway(`gw-${tag}u`, cfgU, [], root);
  const gwO = await g.gateway(`gw-${tag}o`, cfgO, [], root);
  return { module, unordered: { gw: gwU, port: pu }, ordered: { gw: gwO, port: po } };
}

async function runThrough(gw: { gw: BenchProcess; port: number }, module: BenchProcess, l: (typeof LOADS)[number], warmupMs: number, measureMs: number): Promise<EchoRun> {
  // CPU per request is steadier than rps on a shared machine: it shows what a change saves.
  const cpu = new CpuMeter([gw.gw.pid, module.pid]);
  const result = await runWireLoad({ port: gw.port, ...l, request: () => ({ route: "echo.Echo", body: ECHO_BODY }), warmupMs, measureMs, onWindow: (e) => cpu.edge(e) });
  const requests = result.rps * result.seconds;
  return { result, gatewayUs: (cpu.used.get(gw.gw.pid)! * 1000) / requests, moduleUs: (cpu.used.get(module.pid)! * 1000) / requests };
}

/**
 * Unordered, ordered, ordered, unordered (each a full warm-up and window): what drifts during
 * the four windows (the shared machine, JIT state) weighs on both sides alike. Means of two.
 */
async function abba(p: EchoPair, l: (typeof LOADS)[number], warmupMs: number, measureMs: number): Promise<[EchoRun, EchoRun]> {
  const u1 = await runThrough(p.unordered, p.module, l, warmupMs, measureMs);
  const o1 = await runThrough(p.ordered, p.module, l, warmupMs, measureMs);
  const o2 = await runThrough(p.ordered, p.module, l, warmupMs, measureMs);
  const u2 = await runThrough(p.unordered, p.module, l, warmupMs, measureMs);
  return [meanOf(u1, u2), meanOf(o1, o2)];
}

function meanOf(a: EchoRun, b: EchoRun): EchoRun {
  const errors: Record<string, number> = { ...a.result.errors };
  for (const [c, n] of Object.entries(b.result.errors)) errors[c] = (errors[c] ?? 0) + n;
  const result: LoadResult = {
    rps: (a.result.rps + b.result.rps) / 2,
    p50: (a.result.p50 + b.result.p50) / 2,
    p99: (a.result.p99 + b.result.p99) / 2,
    ok: a.result.ok + b.result.ok,
    errors,
    seconds: a.result.seconds + b.result.seconds,
  };
  return { result, gatewayUs: (a.gatewayUs + b.gatewayUs) / 2, moduleUs: (a.moduleUs + b.moduleUs) / 2 };
}

/** The rows of the ordered/unordered pair of one build at one load. */
function pairFigures(prefix: string, l: (typeof LOADS)[number], u: EchoRun, o: EchoRun): Figure[] {
  const n = label(l);
  const out: Figure[] = [
    { scenario: SCENARIO, name: `${prefix}ordered echo rps ${n} vs unordered`, value: o.result.rps, unit: "rps", baseline: { name: "unordered echo, same run", value: u.result.rps }, target: "≥ 0.7×", met: o.result.rps >= 0.7 * u.result.rps },
    { scenario: SCENARIO, name: `${prefix}ordered echo p99 ${n}`, value: o.result.p99, unit: "ms", baseline: { name: "unordered echo", value: u.result.p99 } },
    { scenario: SCENARIO, name: `${prefix}ordered gateway CPU per request ${n}`, value: o.gatewayUs, unit: "µs", baseline: { name: "unordered", value: u.gatewayUs } },
    { scenario: SCENARIO, name: `${prefix}ordered module CPU per request ${n}`, value: o.moduleUs, unit: "µs", baseline: { name: "unordered", value: u.moduleUs } },
  ];
  const errs = Object.values(o.result.errors).reduce((a, b) => a + b, 0);
  if (errs > 0) out.push({ scenario: SCENARIO, name: `${prefix}ordered echo errors ${n}`, value: errs, unit: "" });
  return out;
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const measureMs = benchSeconds() * 1000;
  const warmupMs = Math.min(2_000, measureMs / 2);
  const modules = Number(process.env.BENCH_ECHO_INSTANCES ?? 1);
  return withProcesses(async (g) => {
    const nats = await g.nats();
    const figures: Figure[] = [];

    step("raw nc.request() baseline, 256 in flight, 1 responder process");
    const responder = await g.helper("nats-responder", "nats-responder.js", [nats.url, "bench.echo"]);
    const rawSpec = { url: nats.url, subject: "bench.echo", payload: ECHO_BODY, inflight: 256, warmupMs, measureMs };
    const raw = await runNatsRequestLoad({ ...rawSpec, noAsyncTraces: false });
    const rawNoTraces = await runNatsRequestLoad({ ...rawSpec, noAsyncTraces: true });
    await responder.stop();

    step("raw Node TCP echo baseline");
    const tcpPort = await freePort();
    const tcp = await g.helper("tcp-echo", "tcp-echo-server.js", [String(tcpPort)]);
    const tcpResults = new Map<string, LoadResult>();
    for (const l of LOADS) {
      tcpResults.set(label(l), await runWireLoad({ port: tcpPort, ...l, request: () => ({ route: "echo.Echo", body: ECHO_BODY }), warmupMs, measureMs }));
    }
    await tcp.stop();

    step("ordered next to unordered echo (one echo instance, two gateways)" + (BEFORE_ROOT !== null ? `, and the same of ${BEFORE_ROOT}` : ""));
    const pair = await startPair(g, nats.url, "p", null);
    const before = BEFORE_ROOT !== null ? await startPair(g, nats.url, "before", BEFORE_ROOT) : null;
    for (const l of LOADS) {
      const [u, o] = await abba(pair, l, warmupMs, measureMs);
      figures.push(...pairFigures("", l, u, o));
      if (before !== null) {
        const [bu, bo] = await abba(before, l, warmupMs, measureMs);
        figures.push(...pairFigures("before: ", l, bu, bo));
      }
    }
    for (const p of [pair, before]) {
      if (p === null) continue;
      await Promise.all([p.unordered.gw.stop(), p.ordered.gw.stop()]);
      await p.module.stop();
    }

    step(`gateway + ${modules} echo module instance(s)`);
    const gwPort = await freePort();
    const cfg = g.config("cluster", benchClusterConfig(nats.url, "redis://127.0.0.1:1", [{ id: "gw-b1", port: gwPort }], { echo: { instances: modules, ordered: false } }));
    const mods = [];
    for (let i = 0; i < modules; i++) mods.push(await g.module("echo", `echo-b${i + 1}`, cfg));
    const gw = await g.gateway("gw-b1", cfg);
    for (const l of LOADS) {
      // CPU per request is steadier than rps on a shared machine: it shows what a change saves.
      const cpu = new CpuMeter([gw.pid, mods[0]!.pid]);
      const e2e = await runWireLoad({ port: gwPort, ...l, request: () => ({ route: "echo.Echo", body: ECHO_BODY }), warmupMs, measureMs, onWindow: (e) => cpu.edge(e) });
      const requests = e2e.rps * e2e.seconds;
      const base = tcpResults.get(label(l))!;
      const errs = Object.entries(e2e.errors);
      if (errs.length > 0) step(`errors at ${label(l)}: ${errs.map(([c, n]) => `code ${c}: ${n}`).join(", ")}`);
      const inflight = l.connections * l.inflight;
      figures.push({
        scenario: SCENARIO,
        name: `e2e rps ${label(l)} vs raw nc.request() 256`,
        value: e2e.rps,
        unit: "rps",
        baseline: { name: "nc.request()", value: raw.rps },
        ...(l.inflight === 16 ? { target: "≥ 3×", met: e2e.rps >= 3 * raw.rps } : {}),
      });
      if (l.inflight === 16) {
        figures.push({ scenario: SCENARIO, name: `e2e rps ${label(l)} vs nc.request() noAsyncTraces`, value: e2e.rps, unit: "rps", baseline: { name: "nc.request() noAsyncTraces", value: rawNoTraces.rps } });
      }
      figures.push({ scenario: SCENARIO, name: `e2e rps ${label(l)} vs TCP echo`, value: e2e.rps, unit: "rps", baseline: { name: "TCP echo", value: base.rps } });
      figures.push({ scenario: SCENARIO, name: `e2e p50 ${label(l)}`, value: e2e.p50, unit: "ms", baseline: { name: "TCP echo", value: base.p50 } });
      figures.push({
        scenario: SCENARIO,
        name: `e2e p99 ${label(l)} (${inflight} in flight)`,
        value: e2e.p99,
        unit: "ms",
        baseline: { name: "TCP echo", value: base.p99 },
        ...(inflight === 1600 ? { target: "≤ 50 ms", met: e2e.p99 <= 50 } : {}),
      });
      figures.push({ scenario: SCENARIO, name: `gateway CPU per request ${label(l)}`, value: (cpu.used.get(gw.pid)! * 1000) / requests, unit: "µs" });
      figures.push({ scenario: SCENARIO, name: `module CPU per request ${label(l)}`, value: (cpu.used.get(mods[0]!.pid)! * 1000) / requests, unit: "µs" });
      if (errs.length > 0) figures.push({ scenario: SCENARIO, name: `e2e errors ${label(l)}`, value: errs.reduce((a, [, n]) => a + n, 0), unit: "" });
    }
    figures.push({ scenario: SCENARIO, name: "raw nc.request() 256 in flight p99", value: raw.p99, unit: "ms" });
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
