// Scenario: end-to-end echo, client TCP → gateway → NATS → echo module → back, against two raw
// baselines measured in the same run: `nc.request()` at 256 in flight (one responder process)
// and a raw Node TCP echo server driven by the same load generator at the same loads.
import { runWireLoad, type LoadResult } from "./lib/load.js";
import { runNatsRequestLoad } from "./lib/nats-load.js";
import { CpuMeter, benchClusterConfig, benchSeconds, freePort, withProcesses } from "./lib/processes.js";
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
