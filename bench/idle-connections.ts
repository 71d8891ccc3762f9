// Scenario: idle connections held by one gateway up to the file-descriptor limit, RSS per
// connection from /proc/<pid>/status. The clients are 2 separate processes (each needs an fd
// per connection too). Baseline in the same run: a raw Node TCP server holding as many.
import { readdirSync } from "node:fs";
import { benchClusterConfig, freePort, rssKiB, sleep, withProcesses, type BenchProcess, type ProcessGroup } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "idle-connections";
const CLIENT_PROCESSES = 2;

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The soft fd limit of a process, from /proc/<pid>/limits. */
async function fdLimit(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const m = /Max open files\s+(\d+)/.exec(await readFile(`/proc/${pid}/limits`, "utf8"));
  return m ? Number(m[1]) : 1024;
}

/** Fills `server` with idle connections from 2 client processes; returns connections held and KiB each. */
async function fill(g: ProcessGroup, name: string, server: BenchProcess, port: number, target: number, wsPath?: string): Promise<{ held: number; kibEach: number; rssBefore: number; rssAfter: number }> {
  await sleep(500);
  const fdsBefore = fdCount(server.pid);
  const rssBefore = await rssKiB(server.pid);
  const per = Math.ceil(target / CLIENT_PROCESSES);
  const clients: BenchProcess[] = [];
  for (let i = 0; i < CLIENT_PROCESSES; i++) {
    clients.push(await g.spawn(`${name}-clients-${i + 1}`, process.execPath, [new URL("./lib/idle-clients.js", import.meta.url).pathname, String(port), String(per), ...(wsPath !== undefined ? [wsPath] : [])], { readyLine: "ready", timeoutMs: 120_000 }));
  }
  // Let the server accept the backlog and settle; then GC has had its chance too.
  let held = 0;
  for (let i = 0; i < 40; i++) {
    await sleep(250);
    const now = fdCount(server.pid) - fdsBefore;
    if (now === held && i > 4) break;
    held = now;
  }
  await sleep(1_000);
  const rssAfter = await rssKiB(server.pid);
  held = fdCount(server.pid) - fdsBefore;
  for (const c of clients) await c.stop();
  return { held, kibEach: (rssAfter - rssBefore) / Math.max(held, 1), rssBefore, rssAfter };
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  return withProcesses(async (g) => {
    const figures: Figure[] = [];
    const limit = await fdLimit(process.pid);
    // What one process can hold: its fd limit minus the fds it has for everything else.
    const target = Number(process.env.BENCH_IDLE_CONNECTIONS ?? limit - 60);

    step(`raw Node TCP server holding up to ${target} idle connections`);
    const rawPort = await freePort();
    const raw = await g.helper("tcp-idle", "tcp-echo-server.js", [String(rawPort)]);
    const base = await fill(g, "raw", raw, rawPort, target);
    await raw.stop();

    step(`gateway holding up to ${target} idle connections`);
    const nats = await g.nats();
    const port = await freePort();
    const cfg = g.config("cluster", benchClusterConfig(nats.url, "redis://127.0.0.1:1", [{ id: "gw-b1", port }], {}));
    const gw = await g.gateway("gw-b1", cfg);
    const res = await fill(g, "gw", gw, port, target);
    step(`gateway: ${res.held} connections, RSS ${res.rssBefore} → ${res.rssAfter} KiB; raw: ${base.held}, ${base.rssBefore} → ${base.rssAfter} KiB`);

    figures.push({ scenario: SCENARIO, name: `connections held (fd limit ${limit})`, value: res.held, unit: "", baseline: { name: "raw TCP server", value: base.held } });
    figures.push({
      scenario: SCENARIO,
      name: "RSS per idle connection",
      value: res.kibEach,
      unit: "KiB",
      baseline: { name: "raw TCP server", value: base.kibEach },
      target: "≤ 4 KB",
      met: res.kibEach * 1024 <= 4000,
    });
    await gw.stop();

    // A fresh gateway, so the WebSocket figure does not reuse memory the TCP sessions freed.
    const wsTarget = Math.min(Number(process.env.BENCH_IDLE_WS_CONNECTIONS ?? 10_000), target);
    step(`gateway holding up to ${wsTarget} idle WebSocket connections`);
    const wsGwPort = await freePort();
    const wsPort = await freePort();
    const wsCfg = g.config("cluster-ws", benchClusterConfig(nats.url, "redis://127.0.0.1:1", [{ id: "gw-b2", port: wsGwPort, wsPort }], {}));
    const wsGw = await g.gateway("gw-b2", wsCfg);
    const ws = await fill(g, "gw-ws", wsGw, wsPort, wsTarget, "/ws");
    step(`gateway (WebSocket): ${ws.held} connections, RSS ${ws.rssBefore} → ${ws.rssAfter} KiB`);
    figures.push({ scenario: SCENARIO, name: "WebSocket connections held", value: ws.held, unit: "" });
    figures.push({ scenario: SCENARIO, name: "RSS per idle WebSocket connection", value: ws.kibEach, unit: "KiB", baseline: { name: "gateway TCP (same run)", value: res.kibEach } });
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
