import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, readFileSync } from "node:fs";
import { findBinary } from "../process/binaries.js";
import { isListening } from "../process/ports.js";
import { openPrivateLog, writePrivateFile } from "./private-dir.js";

/** The servers Switchyard starts itself. */
export type ServerProgram = "nats-server" | "redis-server" | "redis-sentinel";

/** What to start: a program on host:port, configured by a file written before every start. */
export interface ServerSpec {
  program: ServerProgram;
  host: string;
  port: number;
  /** Path of the config file (written 0600 before every start: it may hold passwords). */
  configFile: string;
  /**
   * Text of the config file (see nats-server-config.ts, redis-server-config.ts,
   * redis-sentinel-config.ts); a function is asked again at every start.
   */
  config: string | (() => string);
  /** Appended to the command line after the config file (tests: e.g. `--tls ...`). Never a secret. */
  extraArgs?: readonly string[];
  /** stdout and stderr go to this file (created 0600); default: discarded. */
  logFile?: string;
  /** Own process group, so a terminal Ctrl-C does not reach it (the master stops it last). */
  detached?: boolean;
  /** How long it may take to listen (default 10 s). */
  readyTimeoutMs?: number;
  /** Called when it exits without being asked to (not by stop() or restart()). */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A server process started by `launchServer`. */
export interface LaunchedServer {
  readonly program: ServerProgram;
  readonly port: number;
  /** The current process (a new one after each restart). */
  readonly process: ChildProcess;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
  /** Stops it (when running), waits `downMs`, starts it again on the same port and config. */
  restart(downMs?: number): Promise<void>;
}

/**
 * Starts nats-server (`-c FILE`), redis-server or redis-sentinel (`FILE`) and resolves once it accepts TCP
 * connections on its port. Nothing secret goes on the command line: credentials live in the
 * 0600 config file. The process is spawned with umask 077, so whatever it creates (Redis'
 * append-only files) is readable by this user only.
 */
export async function launchServer(spec: ServerSpec): Promise<LaunchedServer> {
  const binary = findBinary(spec.program);
  const args = [...(spec.program === "nats-server" ? ["-c", spec.configFile] : [spec.configFile]), ...(spec.extraArgs ?? [])];
  let proc!: ChildProcess;
  let expected = false;

  const start = async (): Promise<void> => {
    writePrivateFile(spec.configFile, typeof spec.config === "string" ? spec.config : spec.config());
    const fd = spec.logFile !== undefined ? openPrivateLog(spec.logFile) : null;
    const oldMask = process.umask(0o077);
    let child: ChildProcess;
    try {
      child = spawn(binary, args, { stdio: fd === null ? "ignore" : ["ignore", fd, fd], detached: spec.detached ?? false });
    } finally {
      process.umask(oldMask);
      if (fd !== null) closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`cannot start ${binary}`);
    proc = child;
    expected = false;
    child.once("exit", (code, signal) => {
      if (!expected && proc === child) spec.onUnexpectedExit?.(code, signal);
    });
    try {
      await waitListening(child, spec);
    } catch (err) {
      expected = true;
      child.kill("SIGKILL");
      throw err;
    }
  };

  const stopNow = (graceMs: number): Promise<void> => {
    const p = proc;
    expected = true;
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => p.kill("SIGKILL"), graceMs);
      p.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      p.kill("SIGTERM");
    });
  };

  await start();
  return {
    program: spec.program,
    port: spec.port,
    get process() {
      return proc;
    },
    get pid() {
      return proc.pid ?? 0;
    },
    stop: (graceMs = 3_000) => stopNow(graceMs),
    async restart(downMs = 0) {
      await stopNow(3_000);
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
  };
}

async function waitListening(child: ChildProcess, spec: ServerSpec): Promise<void> {
  const timeoutMs = spec.readyTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const log = (): string => (spec.logFile !== undefined ? `; its log ${spec.logFile} says:\n${tail(spec.logFile)}` : "");
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${spec.program} exited at once (code ${child.exitCode})${log()}`);
    if (await isListening(spec.host, spec.port, 250)) return;
    if (Date.now() > deadline) throw new Error(`${spec.program} does not listen on ${spec.host}:${spec.port} after ${timeoutMs} ms${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-5).join("\n");
  } catch {
    return "(no log)";
  }
}
