import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "../master/ports.js";
import { launchServer, type ServerProgram } from "../servers/launcher.js";
import { natsServerConfig } from "../servers/nats-server-config.js";
import { redisServerConfig } from "../servers/redis-server-config.js";

export { freePort, waitForPort };

/** A real server process started for a test on a free port. */
export interface RunningServer {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its data folder. */
  stop(): Promise<void>;
  /**
   * Starts the same server again on the same port (after stop or a crash); with `downMs`, it
   * stays down that long first (Redis keeps its data: the folder is kept).
   */
  restart(downMs?: number): Promise<void>;
}

/** Starts `program` with the project's launcher (src/servers/launcher.ts) on a free loopback port, no auth. */
async function start(program: ServerProgram, config: (port: number, dir: string) => string, extraArgs: readonly string[] = [], fixedPort?: number): Promise<RunningServer> {
  const port = fixedPort ?? (await freePort());
  const scheme = program === "nats-server" ? "nats" : "redis";
  const dir = mkdtempSync(join(tmpdir(), `sy-test-${scheme}-`));
  const server = await launchServer({ program, host: "127.0.0.1", port, configFile: join(dir, `${program}.conf`), config: config(port, dir), extraArgs });
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    get process() {
      return server.process;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    restart: (downMs) => server.restart(downMs),
  };
}

/**
 * Starts a real nats-server on a free loopback port. `extraArgs` go to nats-server as they are,
 * e.g. `["--user", "u", "--pass", "p"]` or `["--auth", "token"]`.
 */
export function startNats(extraArgs: readonly string[] = []): Promise<RunningServer> {
  return start("nats-server", (port) => natsServerConfig({ host: "127.0.0.1", port }), extraArgs);
}

/** Starts a real redis-server on a free loopback port (appendonly, so a restart keeps data). */
export function startRedis(): Promise<RunningServer> {
  return start("redis-server", (port, dir) => redisServerConfig({ host: "127.0.0.1", port, dir }));
}

/** A NATS cluster of a test: its nodes (routed together on loopback) and how to reach them. */
export interface RunningNatsCluster {
  readonly nodes: readonly RunningServer[];
  /** Client URL of each node, in node order (what `nats.servers` takes). */
  readonly urls: readonly string[];
  /** Monitoring endpoint of each node (`http://127.0.0.1:<port>`: /connz, /routez), in node order. */
  readonly monitorUrls: readonly string[];
  /** Stops every node still running. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers on free loopback ports, routed into one cluster (no auth: tests),
 * with the HTTP monitor on so a test can see which node holds which connection. Resolves once
 * every node sees every other one as a route.
 */
export async function startNatsCluster(size: number): Promise<RunningNatsCluster> {
  const ports = async (): Promise<number[]> => Promise.all(Array.from({ length: size }, () => freePort()));
  const [clientPorts, routePorts, monitorPorts] = [await ports(), await ports(), await ports()];
  const routeAddresses = routePorts.map((p) => `127.0.0.1:${p}`);
  const nodes: RunningServer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const cluster = { name: "sy-test", host: "127.0.0.1", port: routePorts[i]!, peers: routeAddresses.filter((_, j) => j !== i), user: "route", password: "route-secret" };
      nodes.push(await start("nats-server", (port) => natsServerConfig({ host: "127.0.0.1", port, cluster, monitorPort: monitorPorts[i]! }), [], clientPorts[i]!));
    }
    const monitorUrls = monitorPorts.map((p) => `http://127.0.0.1:${p}`);
    await waitForRoutes(monitorUrls, size - 1);
    return {
      nodes,
      urls: nodes.map((n) => n.url),
      monitorUrls,
      stop: async () => {
        await Promise.all(nodes.map((n) => n.stop()));
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}

/** Waits until every node's /routez lists `routes` routes (the cluster is whole). */
async function waitForRoutes(monitorUrls: readonly string[], routes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const counts = await Promise.all(monitorUrls.map(async (u) => ((await (await fetch(`${u}/routez`)).json()) as { num_routes: number }).num_routes));
    if (counts.every((n) => n >= routes)) return;
    if (Date.now() > deadline) throw new Error(`the NATS cluster did not form within 10 s (routes per node: ${counts.join(", ")})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
