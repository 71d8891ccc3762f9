// Scenario: what metrics cost on the echo route. Two gateway + echo module stacks on one
// nats-server, the same build, one with telemetry.metrics on and one with it off, driven in
// turns (on, off, off, on, …) at the same load so drift of the shared machine falls on both.
// Reports rps and gateway + module CPU per request of each, and their ratios.
import { runWireLoad } from "./lib/load.js";
import { CpuMeter, benchClusterConfig, benchSeconds, freePort, withProcesses, type BenchProcess } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";
import { ECHO_BODY } from "./echo-e2e.js";

const SCENARIO = "metrics-cost";
const LOAD = { connections: 100, inflight: 16 } as const;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

interface Stack {
  metrics: boolean;
  port: number;
  gateway: BenchProcess;
  module: BenchProcess;
  rps: number[];
  cpuPerRequestUs: number[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const measureMs = benchSeconds() * 1000;
  const warmupMs = Math.min(2_000, measureMs / 2);
  return withProcesses(async (g) => {
    const nats = await g.nats();
    const stacks: Stack[] = [];
    for (const metrics of [true, false]) {
      const id = metrics ? "gw-on" : "gw-off";
      const port = await freePort();
      const cfg = g.config(id, { ...benchClusterConfig(nats.url, "redis://127.0.0.1:1", [{ id, port }], { echo: { instances: 1, ordered: false } }), telemetry: { metrics } });
      const module = await g.module("echo", metrics ? "echo-on" : "echo-off", cfg);
      const gateway = await g.gateway(id, cfg);
      stacks.push({ metrics, port, gateway, module, rps: [], cpuPerRequestUs: [] });
    }
    for (let round = 0; round < ROUNDS; round++) {
      // ABBA: on/off, then off/on
      const order = round % 2 === 0 ? stacks : [...stacks].reverse();
      for (const s of order) {
        step(`round ${round + 1}/${ROUNDS}: metrics ${s.metrics ? "on" : "off"}`);
        const cpu = new CpuMeter([s.gateway.pid, s.module.pid]);
        const r = await runWireLoad({ port: s.port, ...LOAD, request: () => ({ route: "echo.Echo", body: ECHO_BODY }), warmupMs, measureMs, onWindow: (e) => cpu.edge(e) });
        const requests = r.rps * r.seconds;
        s.rps.push(r.rps);
        s.cpuPerRequestUs.push(((cpu.used.get(s.gateway.pid)! + cpu.used.get(s.module.pid)!) * 1000) / requests);
        const errs = Object.values(r.errors).reduce((a, n) => a + n, 0);
        if (errs > 0) step(`errors: ${JSON.stringify(r.errors)}`);
      }
    }
    const [on, off] = stacks as [Stack, Stack];
    step(`rps on ${on.rps.map((x) => x.toFixed(0)).join(" ")} | off ${off.rps.map((x) => x.toFixed(0)).join(" ")}`);
    const rpsRatio = median(on.rps) / median(off.rps);
    const cpuRatio = median(on.cpuPerRequestUs) / median(off.cpuPerRequestUs);
    return [
      { scenario: SCENARIO, name: `echo rps 100×16, metrics on vs off (median of ${ROUNDS})`, value: median(on.rps), unit: "rps", baseline: { name: "metrics off", value: median(off.rps) }, target: "≥ 0.95×", met: rpsRatio >= 0.95 },
      { scenario: SCENARIO, name: `gateway+module CPU per request, metrics on vs off`, value: median(on.cpuPerRequestUs), unit: "µs", baseline: { name: "metrics off", value: median(off.cpuPerRequestUs) }, target: "≤ 1.05×", met: cpuRatio <= 1.05 },
    ];
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
