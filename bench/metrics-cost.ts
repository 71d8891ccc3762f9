// Scenario: what metrics cost on the echo route. Two gateway + echo module stacks on one
// nats-server, the same build, one with telemetry.metrics on and one with it off, driven in
// turns (on, off, off, on, …) at the same load so drift of the shared machine falls on both.
// Reports rps and gateway + module CPU per request of each, and their ratios. With
// BENCH_BASELINE_ROOT naming another built checkout (e.g. the commit before metrics), a third
// stack runs that build in the same turns.
import { runWireLoad } from "./lib/load.js";
import { join } from "node:path";
import { CpuMeter, benchClusterConfig, benchSeconds, freePort, withProcesses, type BenchProcess } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";
import { ECHO_BODY } from "./echo-e2e.js";

const SCENARIO = "metrics-cost";
const LOAD = { connections: 100, inflight: 16 } as const;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

interface Stack {
  name: string;
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
      stacks.push({ name: metrics ? "metrics on" : "metrics off", metrics, port, gateway, module, rps: [], cpuPerRequestUs: [] });
    }
    const baselineRoot = process.env.BENCH_BASELINE_ROOT;
    if (baselineRoot) {
      const cli = join(baselineRoot, "bin", "switchyard.js");
      // its own proto/ and modules, not this checkout's (the working directory)
      const env = { SWITCHYARD_PROJECT: baselineRoot };
      const port = await freePort();
      const cfg = g.config("gw-prev", benchClusterConfig(nats.url, "redis://127.0.0.1:1", [{ id: "gw-prev", port }], { echo: { instances: 1, ordered: false } }));
      const module = await g.spawn("echo-prev", process.execPath, [cli, "module", "echo", "--instance", "echo-prev", "--config", cfg], { readyLine: "module ready", env });
      const gateway = await g.spawn("gw-prev", process.execPath, [cli, "gateway", "--id", "gw-prev", "--config", cfg], { readyLine: "gateway listening", env });
      stacks.push({ name: "previous build", metrics: false, port, gateway, module, rps: [], cpuPerRequestUs: [] });
    }
    for (let round = 0; round < ROUNDS; round++) {
      // ABBA: on/off, then off/on
      const order = round % 2 === 0 ? stacks : [...stacks].reverse();
      for (const s of order) {
        step(`round ${round + 1}/${ROUNDS}: ${s.name}`);
        const cpu = new CpuMeter([s.gateway.pid, s.module.pid]);
        const r = await runWireLoad({ port: s.port, ...LOAD, request: () => ({ route: "echo.Echo", body: ECHO_BODY }), warmupMs, measureMs, onWindow: (e) => cpu.edge(e) });
        const requests = r.rps * r.seconds;
        s.rps.push(r.rps);
        s.cpuPerRequestUs.push(((cpu.used.get(s.gateway.pid)! + cpu.used.get(s.module.pid)!) * 1000) / requests);
        const errs = Object.values(r.errors).reduce((a, n) => a + n, 0);
        if (errs > 0) step(`errors: ${JSON.stringify(r.errors)}`);
      }
    }
    for (const s of stacks) step(`${s.name}: rps ${s.rps.map((x) => x.toFixed(0)).join(" ")}; CPU µs/request ${s.cpuPerRequestUs.map((x) => x.toFixed(2)).join(" ")}`);
    const on = stacks[0]!;
    const figures: Figure[] = [];
    for (const base of stacks.slice(1)) {
      const rpsRatio = median(on.rps) / median(base.rps);
      const cpuRatio = median(on.cpuPerRequestUs) / median(base.cpuPerRequestUs);
      figures.push(
        { scenario: SCENARIO, name: `echo rps 100×16, metrics on vs ${base.name} (median of ${ROUNDS})`, value: median(on.rps), unit: "rps", baseline: { name: base.name, value: median(base.rps) }, target: "≥ 0.95×", met: rpsRatio >= 0.95 },
        { scenario: SCENARIO, name: `gateway+module CPU per request, metrics on vs ${base.name}`, value: median(on.cpuPerRequestUs), unit: "µs", baseline: { name: base.name, value: median(base.cpuPerRequestUs) }, target: "≤ 1.05×", met: cpuRatio <= 1.05 },
      );
    }
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
