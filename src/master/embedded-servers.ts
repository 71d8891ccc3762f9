import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { basename, join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { Logger } from "../log/logger.js";
import { findBinary } from "./binaries.js";

/** A nats-server or redis-server this master started; it stops it on a clean shutdown. */
export interface EmbeddedServer {
  readonly name: "nats-server" | "redis-server";
  readonly pid: number;
  /** host:port it listens on. */
  readonly address: string;
  /** SIGTERM, SIGKILL after `graceMs`; removes the pid file. Same promise on every call. */
  stop(graceMs?: number): Promise<void>;
}

/** Host and port of a nats:// or redis:// URL (the first one of a comma-separated list). */
export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const first = url.split(",")[0]!.trim();
  const u = new URL(first.includes("://") ? first : `x://${first}`);
  const host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  return { host, port: u.port ? Number(u.port) : defaultPort };
}

/** True when something accepts a TCP connection at host:port within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const target = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return new Promise((resolve) => {
    const s = connect({ host: target, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/**
 * Makes sure NATS and Redis answer at the configured URLs: for each one marked `embedded` that
 * does not answer, starts a local server (data, pid files and logs under runtimeDir). Returns
 * the servers it started, NATS first.
 */
export async function ensureEmbeddedServers(cfg: ClusterConfig, log: Logger): Promise<EmbeddedServer[]> {
  const started: EmbeddedServer[] = [];
  try {
    const nats = hostPort(cfg.nats.url, 4222);
    if (!(await isListening(nats.host, nats.port))) {
      if (!cfg.nats.embedded) {
        throw new Error(`nothing answers at NATS ${cfg.nats.url} and nats.embedded is false: start your NATS server, or set nats.embedded to true`);
      }
      started.push(await startServer("nats-server", nats, natsArgs(cfg, nats), cfg.runtimeDir, log));
    } else {
      log.info({ url: cfg.nats.url }, "using the NATS server already running");
    }
    const redis = hostPort(cfg.redis.url, 6379);
    if (!(await isListening(redis.host, redis.port))) {
      if (!cfg.redis.embedded) {
        throw new Error(`nothing answers at Redis ${cfg.redis.url} and redis.embedded is false: start your Redis server, or set redis.embedded to true`);
      }
      const dataDir = join(cfg.runtimeDir, `redis-${redis.port}`);
      started.push(await startServer("redis-server", redis, redisArgs(cfg, redis, dataDir), cfg.runtimeDir, log, dataDir));
    } else {
      log.info({ url: cfg.redis.url }, "using the Redis server already running");
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
  return started;
}

function natsArgs(cfg: ClusterConfig, at: { host: string; port: number }): string[] {
  const args = ["-a", at.host, "-p", String(at.port)];
  if (cfg.nats.token) args.push("--auth", cfg.nats.token);
  else if (cfg.nats.user) args.push("--user", cfg.nats.user, "--pass", cfg.nats.pass ?? "");
  return args;
}

function redisArgs(cfg: ClusterConfig, at: { host: string; port: number }, dataDir: string): string[] {
  const args = ["--port", String(at.port), "--bind", at.host, "--dir", dataDir, "--appendonly", "yes", "--save", ""];
  const password = decodeURIComponent(new URL(cfg.redis.url.includes("://") ? cfg.redis.url : `redis://${cfg.redis.url}`).password);
  if (password) args.push("--requirepass", password);
  return args;
}

/** Pid file of the server a master started on `port` (a port per file: clusters may share runtimeDir). */
export function pidFilePath(runtimeDir: string, name: string, port: number): string {
  return join(runtimeDir, "run", `${name}-${port}.pid`);
}

async function startServer(
  name: EmbeddedServer["name"],
  at: { host: string; port: number },
  args: string[],
  runtimeDir: string,
  log: Logger,
  dataDir?: string,
): Promise<EmbeddedServer> {
  const binary = findBinary(name);
  const pidFile = pidFilePath(runtimeDir, name, at.port);
  await killStale(pidFile, name, log);
  mkdirSync(join(runtimeDir, "run"), { recursive: true });
  mkdirSync(join(runtimeDir, "logs"), { recursive: true });
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const logFile = join(runtimeDir, "logs", `${name}-${at.port}.log`);
  const fd = openSync(logFile, "a");
  // Own process group: a Ctrl-C in the terminal reaches only the master, which stops the
  // servers last, after every process using them has drained.
  const child = spawn(binary, args, { stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${binary}`);
  writeFileSync(pidFile, `${pid}\n`);
  const address = `${at.host}:${at.port}`;
  try {
    await waitListening(child, at, 10_000, logFile);
  } catch (err) {
    child.kill("SIGKILL");
    rmSync(pidFile, { force: true });
    throw err;
  }
  log.info({ server: name, serverPid: pid, address, logFile }, "started embedded server");
  let stopping: Promise<void> | null = null;
  return {
    name,
    pid,
    address,
    stop(graceMs = 5_000) {
      stopping ??= stopChild(child, graceMs).then(() => rmSync(pidFile, { force: true }));
      return stopping;
    },
  };
}

async function waitListening(child: ChildProcess, at: { host: string; port: number }, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${basename(String(child.spawnfile))} exited at once (code ${child.exitCode}); its log ${logFile} says:\n${tail(logFile)}`);
    }
    if (await isListening(at.host, at.port, 250)) return;
    if (Date.now() > deadline) throw new Error(`${child.spawnfile} does not listen on ${at.host}:${at.port} after ${timeoutMs} ms; see ${logFile}`);
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

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * A pid file left by an earlier master that died: when it names a live process of the same
 * program (and nothing answered on its port, or we would not be here), that server is hung —
 * kill it so the port and data folder are ours.
 */
async function killStale(pidFile: string, name: string, log: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1 || !isRunningProgram(pid, name)) return;
  log.warn({ server: name, serverPid: pid }, "killing a server an earlier master started, which no longer answers");
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline && isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `pid` runs `program` (Linux /proc; elsewhere: when it is alive). */
function isRunningProgram(pid: number, program: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    // redis-server rewrites its title to "/usr/bin/redis-server 127.0.0.1:6379": first word only.
    return cmdline.split("\0").some((part) => basename(part.split(" ")[0] ?? "") === program);
  } catch {
    return process.platform !== "linux";
  }
}
