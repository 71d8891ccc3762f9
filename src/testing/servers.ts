// Real nats-server and redis-server processes on free ports, for tests. A copy of
// test/helpers/servers.ts (src/ cannot import test/) until one launcher serves both.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "../master/binaries.js";
import { freePort, waitForPort } from "../master/ports.js";

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

async function startProcess(binary: string, args: (port: number, dir: string) => string[], scheme: string): Promise<RunningServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `sy-test-${scheme}-`));
  let proc: ChildProcess;
  const launch = async (): Promise<void> => {
    proc = spawn(binary, args(port, dir), { stdio: "ignore" });
    await waitForPort(port);
  };
  await launch();
  const stopProc = async (): Promise<void> => {
    const p = proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGTERM");
    const timer = setTimeout(() => p.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    get process() {
      return proc;
    },
    async stop() {
      await stopProc();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(downMs = 0) {
      await stopProc();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
  };
}

/**
 * Starts a real nats-server on a free loopback port. `extraArgs` go to nats-server as they are,
 * e.g. `["--user", "u", "--pass", "p"]` or `["--auth", "token"]`.
 */
export function startNats(extraArgs: readonly string[] = []): Promise<RunningServer> {
  return startProcess(findBinary("nats-server"), (port) => ["-a", "127.0.0.1", "-p", String(port), ...extraArgs], "nats");
}

/** Starts a real redis-server on a free loopback port (appendonly, so a restart keeps data). */
export function startRedis(): Promise<RunningServer> {
  return startProcess(
    findBinary("redis-server"),
    (port, dir) => ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes"],
    "redis",
  );
}
