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

/** Starts `program` with the project's launcher (src/servers/launcher.ts) on a free loopback port. */
export async function startTestServer(program: ServerProgram, config: (port: number, dir: string) => string, extraArgs: readonly string[] = []): Promise<RunningServer> {
  const port = await freePort();
  const scheme = program === "nats-server" ? "nats" : "redis";
  const dir = mkdtempSync(join(tmpdir(), `sy-test-${scheme}-`));
  const server = await launchServer({ program, host: "127.0.0.1", port, configFile: join(dir, `${program}.conf`), config: () => config(port, dir), extraArgs });
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
  return startTestServer("nats-server", (port) => natsServerConfig({ host: "127.0.0.1", port }), extraArgs);
}

/** Starts a real redis-server on a free loopback port (appendonly, so a restart keeps data). */
export function startRedis(): Promise<RunningServer> {
  return startTestServer("redis-server", (port, dir) => redisServerConfig({ host: "127.0.0.1", port, dir }));
}
