import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { Logger } from "../log/logger.js";
import { findBinary } from "./binaries.js";
import { isListening } from "./ports.js";

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

/**
 * Makes sure NATS and Redis answer at the configured URLs: for each one marked `embedded` that
 * does not answer, starts a local server (data, pid files and logs under runtimeDir), and
 * restarts it should it die. A server that answers and that an earlier master started (its pid
 * file names it) is adopted, so a clean stop leaves no orphan. Returns the servers this master
 * owns, NATS first.
 */
export async function ensureEmbeddedServers(cfg: ClusterConfig, log: Logger): Promise<EmbeddedServer[]> {
  const owned: EmbeddedServer[] = [];
  try {
    const nats = hostPort(cfg.nats.url, 4222);
    const natsServer = await ensureServer("nats-server", cfg.nats.url, nats, cfg.nats.embedded, cfg.runtimeDir, log, () => natsArgs(cfg, nats));
    if (natsServer) owned.push(natsServer);
    const redis = hostPort(cfg.redis.url, 6379);
    const dataDir = join(cfg.runtimeDir, `redis-${redis.port}`);
    const redisServer = await ensureServer("redis-server", cfg.redis.url, redis, cfg.redis.embedded, cfg.runtimeDir, log, () => redisArgs(cfg, redis, dataDir), dataDir);
    if (redisServer) owned.push(redisServer);
  } catch (err) {
    await Promise.all(owned.map((s) => s.stop()));
    throw err;
  }
  return owned;
}

async function ensureServer(
  name: EmbeddedServer["name"],
  url: string,
  at: { host: string; port: number },
  embedded: boolean,
  runtimeDir: string,
  log: Logger,
  args: () => string[],
  dataDir?: string,
): Promise<EmbeddedServer | null> {
  const what = name === "nats-server" ? "NATS" : "Redis";
  const pidFile = pidFilePath(runtimeDir, name, at.port);
  if (await isListening(at.host, at.port)) {
    const pid = readPidFile(pidFile);
    if (embedded && pid !== null && isRunningProgram(pid, name)) {
      log.info({ server: name, serverPid: pid, url }, `adopting the ${what} server an earlier master started`);
      return adoptServer(name, pid, `${at.host}:${at.port}`, pidFile);
    }
    log.info({ url }, `using the ${what} server already running`);
    return null;
  }
  if (!embedded) {
    const key = name === "nats-server" ? "nats" : "redis";
    throw new Error(`nothing answers at ${what} ${url} and ${key}.embedded is false: start your ${what} server, or set ${key}.embedded to true`);
  }
  return startServer(name, at, args(), runtimeDir, log, dataDir);
}

function natsArgs(cfg: ClusterConfig, at: { host: string; port: number }): string[] {
  const args = ["-a", at.host, "-p", String(at.port)];
  if (cfg.nats.token) args.push("--auth", cfg.nats.token);
  else if (cfg.nats.user) args.push("--user", cfg.nats.user, "--pass", cfg.nats.pass ?? "");
  return args;
}

function redisArgs(cfg: ClusterConfig, at: { host: string; port: number }, dataDir: string): string[] {
  // Append-only file: Redis writes each command to it before replying, so a kill -9 of
  // redis-server loses no acknowledged write (the once-a-second fsync matters only if the OS dies).
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
  const address = `${at.host}:${at.port}`;
  let child: ChildProcess;
  let stopping: Promise<void> | null = null;

  const launch = async (): Promise<void> => {
    const fd = openSync(logFile, "a");
    // Own process group: a Ctrl-C in the terminal reaches only the master, which stops the
    // servers last, after every process using them has drained.
    const proc = spawn(binary, args, { stdio: ["ignore", fd, fd], detached: true });
    closeSync(fd);
    child = proc;
    if (proc.pid === undefined) throw new Error(`cannot start ${binary}`);
    writeFileSync(pidFile, `${proc.pid}\n`);
    proc.once("exit", (code, signal) => {
      if (stopping) return;
      // The cluster cannot work without it: start it again on the same port (Redis reloads its
      // append-only file); processes reconnect on their own.
      log.error({ server: name, serverPid: proc.pid, code, signal, logFile }, "embedded server exited unexpectedly; restarting it in 1 s");
      setTimeout(() => {
        if (stopping) return;
        launch().then(
          () => log.info({ server: name, serverPid: child.pid, address }, "embedded server restarted"),
          (err: unknown) => log.error({ server: name, err }, "embedded server failed to restart; retrying"),
        );
      }, 1_000).unref();
    });
    try {
      await waitListening(proc, at, 10_000, logFile);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
  };

  try {
    await launch();
  } catch (err) {
    stopping = Promise.resolve();
    rmSync(pidFile, { force: true });
    throw err;
  }
  log.info({ server: name, serverPid: child!.pid, address, logFile }, "started embedded server");
  return {
    name,
    get pid() {
      return child.pid ?? 0;
    },
    address,
    stop(graceMs = 5_000) {
      stopping ??= stopChild(child, graceMs).then(() => rmSync(pidFile, { force: true }));
      return stopping;
    },
  };
}

/** A server an earlier master started: stopped by pid, since it is not our child. */
function adoptServer(name: EmbeddedServer["name"], pid: number, address: string, pidFile: string): EmbeddedServer {
  let stopping: Promise<void> | null = null;
  return {
    name,
    pid,
    address,
    stop(graceMs = 5_000) {
      stopping ??= killPid(pid, graceMs).then(() => rmSync(pidFile, { force: true }));
      return stopping;
    },
  };
}

function readPidFile(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function killPid(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  // Bounded: an unreaped zombie (no init reaping in some containers) stays "alive" forever.
  const killDeadline = Date.now() + 2_000;
  while (Date.now() < killDeadline && isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
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
  const pid = readPidFile(pidFile);
  rmSync(pidFile, { force: true });
  if (pid === null || !isRunningProgram(pid, name)) return;
  log.warn({ server: name, serverPid: pid }, "killing a server an earlier master started, which no longer answers");
  await killPid(pid, 3_000);
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
