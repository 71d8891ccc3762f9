// Scenario: WebSocket echo next to TCP echo through the same gateway in the same run: client
// (ws package, or raw TCP) → gateway → NATS → echo module → back, at 100 connections × 1 and × 16
// in flight; rps, p50/p99 and gateway CPU per request for each transport.
import { ECHO_BODY } from "./echo-e2e.js";
import { runWireLoad } from "./lib/load.js";
import { CpuMeter, benchClusterConfig, benchSeconds, freePort, withProcesses } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "ws-echo";
const LOADS = [
  { connections: 100, inflight: 1 },
  { connections: 100, inflight: 16 },
] as const;

/** One measurement window's figures. */
interface Measured {
  rps: number;
  p50: number;
  p99: number;
  gatewayUsPerRequest: number;
}

function mean(xs: Measured[]): Measured {
  const avg = (f: (m: Measured) => number): number => xs.reduce((a, m) => a + f(m), 0) / xs.length;
  return { rps: avg((m) => m.rps), p50: avg((m) => m.p50), p99: avg((m) => m.p99), gatewayUsPerRequest: avg((m) => m.gatewayUsPerRequest) };
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const measureMs = benchSeconds() * 1000;
  const warmupMs = Math.min(2_000, measureMs / 2);
  return withProcesses(async (g) => {
    const nats = await g.nats();
    const figures: Figure[] = [];
    const port = await freePort();
    const wsPort = await freePort();
    const cfg = g.config("cluster", benchClusterConfig(nats.url, "redis://127.0.0.1:1", [{ id: "gw-ws1", port, wsPort }], { echo: { instances: 1, ordered: false } }));
    const mod = await g.module("echo", "echo-ws1", cfg);
    const gw = await g.gateway("gw-ws1", cfg);
    const request = (): { route: string; body: Uint8Array } => ({ route: "echo.Echo", body: ECHO_BODY });
    for (const l of LOADS) {
      const label = `${l.connections}×${l.inflight}`;
      // ABBA order (TCP, WebSocket, WebSocket, TCP), each figure the mean of its two windows:
      // on a shared machine the load drifts, and whichever runs first would pay for warm-up.
      step(`TCP, WebSocket, WebSocket, TCP echo at ${label}`);
      const runs = { tcp: [] as Measured[], ws: [] as Measured[] };
      for (const transport of ["tcp", "ws", "ws", "tcp"] as const) {
        const cpu = new CpuMeter([gw.pid, mod.pid]);
        const r = await runWireLoad({ port, ...(transport === "ws" ? { ws: `ws://127.0.0.1:${wsPort}/ws` } : {}), ...l, request, warmupMs, measureMs, onWindow: (e) => cpu.edge(e) });
        const errs = Object.entries(r.errors);
        if (errs.length > 0) step(`${transport} errors at ${label}: ${errs.map(([c, n]) => `code ${c}: ${n}`).join(", ")}`);
        runs[transport].push({ rps: r.rps, p50: r.p50, p99: r.p99, gatewayUsPerRequest: (cpu.used.get(gw.pid)! * 1000) / (r.rps * r.seconds) });
      }
      const ws = mean(runs.ws);
      const tcp = mean(runs.tcp);
      figures.push({ scenario: SCENARIO, name: `WebSocket echo rps ${label}`, value: ws.rps, unit: "rps", baseline: { name: "TCP echo", value: tcp.rps } });
      figures.push({ scenario: SCENARIO, name: `WebSocket echo p50 ${label}`, value: ws.p50, unit: "ms", baseline: { name: "TCP echo", value: tcp.p50 } });
      figures.push({ scenario: SCENARIO, name: `WebSocket echo p99 ${label}`, value: ws.p99, unit: "ms", baseline: { name: "TCP echo", value: tcp.p99 } });
      figures.push({ scenario: SCENARIO, name: `gateway CPU per request, WebSocket ${label}`, value: ws.gatewayUsPerRequest, unit: "µs", baseline: { name: "TCP", value: tcp.gatewayUsPerRequest } });
    }
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
