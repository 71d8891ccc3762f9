import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { connect as natsConnect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listInstances } from "../../src/bus/discovery.js";
import { DEFAULT_CONFIG, projectRoot } from "../../src/config/cluster-config.js";
import { testConfig } from "../helpers/config.js";
import { freePort, startNats, waitForPort, type RunningServer } from "../helpers/servers.js";

const root = projectRoot();
const bin = join(root, "bin", "switchyard.js");
const CONNECTIONS = 10_000;
const BATCH = 500;

/** Resident set size of a process in KiB (Linux /proc). */
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

describe("10,000 idle connections on one gateway process", () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  let gateway: ChildProcess;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    if (!existsSync(join(root, "dist", "src", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` (npm test does it in pretest)");
    nats = await startNats();
    nc = await natsConnect({ servers: nats.url });
    port = await freePort();
    const config = testConfig(nats.url, "redis://127.0.0.1:1", {
      gateways: [{ id: "gw-idle", host: "127.0.0.1", port }],
      // idle here means no traffic at all: keep the idle sweep out of the way
      gateway: { ...DEFAULT_CONFIG.gateway, idleTimeoutMs: 600_000, firstPacketTimeoutMs: 600_000 },
    });
    const configPath = join(config.runtimeDir, "cluster.json");
    writeFileSync(configPath, JSON.stringify({ ...config, log: { level: "warn" } }));
    gateway = spawn(process.execPath, [bin, "gateway", "--config", configPath, "--id", "gw-idle"], { stdio: ["ignore", "ignore", "inherit"] });
    await waitForPort(port);
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway.once("exit", r));
      gateway.kill("SIGTERM");
      await exited;
    }
    await nc?.close();
    await nats?.stop();
  });

  it(`holds ${CONNECTIONS} idle connections; prints RSS per connection`, { timeout: 120_000 }, async () => {
    const pid = gateway.pid!;
    const before = rssKiB(pid);
    let closed = 0;
    for (let i = 0; i < CONNECTIONS; i += BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(BATCH, CONNECTIONS - i) }, () => open(port)));
      for (const s of batch) {
        s.on("close", () => closed++);
        s.on("error", () => undefined);
        sockets.push(s);
      }
    }
    // Held means: the gateway counts them as sessions, and none was closed.
    let sessions = 0;
    for (let i = 0; i < 100 && sessions < CONNECTIONS; i++) {
      const me = (await listInstances(nc)).find((x) => x.instance === "gw-idle");
      sessions = me?.sessions ?? 0;
      if (sessions < CONNECTIONS) await new Promise((r) => setTimeout(r, 100));
    }
    const after = rssKiB(pid);
    const perConn = ((after - before) * 1024) / CONNECTIONS;
    console.log(
      `idle connections: ${sessions} held by gateway pid ${pid}; RSS ${(before / 1024).toFixed(1)} MiB → ${(after / 1024).toFixed(1)} MiB, ` +
        `${(perConn / 1024).toFixed(2)} KiB per connection`,
    );
    expect(sessions).toBe(CONNECTIONS);
    expect(closed).toBe(0);
    expect(gateway.exitCode).toBeNull();
  });
});
