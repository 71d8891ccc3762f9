import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, waitForPort } from "../../src/process/ports.js";
import { childNodeOptions } from "../../src/process/process-plan.js";
import { launchServer, type ServerProgram } from "../../src/servers/launcher.js";
import { natsServerConfig } from "../../src/servers/nats-server-config.js";
import { redisServerConfig } from "../../src/servers/redis-server-config.js";

export { freePort, waitForPort };

/** Root of the project (dist/bench/lib → three levels up). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
/** The compiled bench/lib folder (helper processes live here). */
export const LIB_DIR = dirname(fileURLToPath(import.meta.url));
/**
 * The switchyard CLI the gateways and modules run; BENCH_SWITCHYARD_ROOT points at another built
 * checkout (a worktree of an older commit) to compare before/after on the same machine state.
 */
export const CLI = join(process.env.BENCH_SWITCHYARD_ROOT ?? ROOT, "bin", "switchyard.js");
/**
 * BENCH_BEFORE_ROOT: another built checkout (e.g. main before a change) whose gateways and
 * modules a scenario also measures in the same run, next to this build's ("before" rows).
 */
export const BEFORE_ROOT: string | null = process.env.BENCH_BEFORE_ROOT || null;

/** The CLI of the checkout at `root` (default: the one this bench measures, see CLI). */
function cliAt(root: string | null): string {
  return root === null ? CLI : join(root, "bin", "switchyard.js");
}

/** A child process of a benchmark. */
export interface BenchProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Every process one scenario started, stopped together (also on error, Ctrl-C, or when the
 * bench process exits: no orphans). Logs of each child go to `<dir>/<name>.log`.
 */
export class ProcessGroup {
  readonly dir = mkdtempSync(join(tmpdir(), "sy-bench-"));
  private readonly procs: BenchProcess[] = [];
  private readonly killAll = (): void => {
    for (const p of this.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
  };
  private readonly onSignal = (): void => {
    this.killAll();
    process.exit(130);
  };

  constructor() {
    process.on("exit", this.killAll);
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
  }

  /** Spawns `cmd args`; when `readyLine` is given, resolves once a stdout line contains it. */
  async spawn(name: string, cmd: string, args: string[], opts: { readyLine?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<BenchProcess> {
    const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? ROOT });
    const log = createWriteStream(join(this.dir, `${name}.log`));
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    const bp: BenchProcess = {
      name,
      proc,
      pid: proc.pid ?? 0,
      async stop(graceMs = 5_000) {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(t);
      },
    };
    this.procs.push(bp);
    if (opts.readyLine !== undefined) {
      const line = opts.readyLine;
      await new Promise<void>((resolve, reject) => {
        let seen = "";
        const timer = setTimeout(() => reject(new Error(`${name} not ready after ${opts.timeoutMs ?? 20_000} ms (log: ${join(this.dir, name + ".log")})`)), opts.timeoutMs ?? 20_000);
        const onData = (chunk: Buffer): void => {
          seen = (seen + chunk.toString("utf8")).slice(-4096);
          if (seen.includes(line)) {
            clearTimeout(timer);
            proc.stdout!.off("data", onData);
            resolve();
          }
        };
        proc.stdout!.on("data", onData);
        proc.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code} before it was ready (log: ${join(this.dir, name + ".log")})`));
        });
      });
    }
    return bp;
  }

  /** A nats-server on a free loopback port (no auth). */
  async nats(): Promise<{ url: string; proc: BenchProcess }> {
    const port = await freePort();
    const proc = await this.server("nats-server", port, natsServerConfig({ host: "127.0.0.1", port }));
    return { url: `nats://127.0.0.1:${port}`, proc };
  }

  /** A redis-server on a free loopback port, no persistence (a benchmark keeps nothing). */
  async redis(): Promise<{ url: string; proc: BenchProcess }> {
    const port = await freePort();
    const proc = await this.server("redis-server", port, redisServerConfig({ host: "127.0.0.1", port, dir: this.dir, appendOnly: false }));
    return { url: `redis://127.0.0.1:${port}`, proc };
  }

  /** Starts a server with the project's launcher (log in `<dir>/<program>.log`), once it listens. */
  private async server(program: ServerProgram, port: number, config: string): Promise<BenchProcess> {
    const s = await launchServer({ program, host: "127.0.0.1", port, config, configFile: join(this.dir, `${program}-${port}.conf`), logFile: join(this.dir, `${program}.log`) });
    const bp: BenchProcess = { name: program, proc: s.process, pid: s.pid, stop: (graceMs = 5_000) => s.stop(graceMs) };
    this.procs.push(bp);
    return bp;
  }

  /** Writes a cluster config for this run and returns its path. */
  config(name: string, cfg: object): string {
    const path = join(this.dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(cfg, null, 2));
    return path;
  }

  /** `switchyard gateway --id ID --config PATH` (of the checkout at `root`), resolved once it listens. */
  gateway(id: string, configPath: string, nodeArgs: string[] = [], root: string | null = null): Promise<BenchProcess> {
    return this.spawn(id, process.execPath, [...nodeArgs, ...profileArgs(), cliAt(root), "gateway", "--id", id, "--config", configPath], { readyLine: "gateway listening", env: CHILD_ENV, ...(root !== null ? { cwd: root } : {}) });
  }

  /** `switchyard module NAME --config PATH` (of the checkout at `root`), resolved once it is ready. */
  module(name: string, instance: string, configPath: string, nodeArgs: string[] = [], root: string | null = null): Promise<BenchProcess> {
    return this.spawn(instance, process.execPath, [...nodeArgs, ...profileArgs(), cliAt(root), "module", name, "--instance", instance, "--config", configPath], {
      readyLine: "module ready",
      env: CHILD_ENV,
      // A checkout reads its own proto/ (the project's, from the working directory).
      ...(root !== null ? { cwd: root } : {}),
    });
  }

  /** A compiled helper script of bench/lib run with node, resolved once it prints `ready`. */
  helper(name: string, script: string, args: string[], nodeArgs: string[] = []): Promise<BenchProcess> {
    return this.spawn(name, process.execPath, [...nodeArgs, join(LIB_DIR, script), ...args], { readyLine: "ready" });
  }

  /** Stops every process (reverse start order) and removes the run folder unless BENCH_KEEP is set. */
  async stopAll(): Promise<void> {
    for (const p of [...this.procs].reverse()) await p.stop();
    process.off("exit", this.killAll);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    if (!process.env.BENCH_KEEP) rmSync(this.dir, { recursive: true, force: true });
    else process.stderr.write(`bench: logs kept in ${this.dir}\n`);
  }
}

/** What the master adds to a gateway's or module's environment (the young generation's size). */
export const CHILD_ENV = { NODE_OPTIONS: childNodeOptions(process.env) };

/** `--cpu-prof` flags when BENCH_CPU_PROF names a folder (profiles of gateways and modules). */
export function profileArgs(): string[] {
  const out = process.env.BENCH_CPU_PROF;
  return out ? ["--cpu-prof", `--cpu-prof-dir=${out}`] : [];
}

/** Runs `fn` with a fresh ProcessGroup and always stops it. */
export async function withProcesses<T>(fn: (g: ProcessGroup) => Promise<T>): Promise<T> {
  const g = new ProcessGroup();
  try {
    return await fn(g);
  } finally {
    await g.stopAll();
  }
}



/** A cluster config for benchmarks: limits that do not throttle the load, quiet logs. */
export function benchClusterConfig(natsUrl: string, redisUrl: string, gateways: { id: string; port: number; wsPort?: number }[], modules: Record<string, object>): object {
  return {
    nats: { url: natsUrl, embedded: false },
    redis: { url: redisUrl, embedded: false },
    log: { level: "info" },
    gateways: gateways.map((g) => ({ id: g.id, host: "127.0.0.1", port: g.port, ...(g.wsPort !== undefined ? { wsPort: g.wsPort } : {}) })),
    gateway: {
      publicRoutes: ["login.Register", "login.Login", "login.Resume", "echo.Echo", "echo.WhoAmI"],
      maxInFlightPerSession: 256,
      maxConnections: 30_000,
      // every load connection comes from 127.0.0.1
      maxConnectionsPerAddress: 0,
      idleTimeoutMs: 600_000,
      // benchmark members and idle connections may stay silent: no first-packet deadline
      firstPacketTimeoutMs: 600_000,
      maxPendingOutputBytes: 16 * 1024 * 1024,
      rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    },
    modules: withBenchLoginLimits(modules),
  };
}

/** Every benchmark user registers and logs in from 127.0.0.1: the per-address login limits are raised. */
function withBenchLoginLimits(modules: Record<string, object>): Record<string, object> {
  const login = modules.login as { settings?: object } | undefined;
  if (login === undefined) return modules;
  const limits = { maxRegistrationsPerAddressPerHour: 1_000_000, maxFailedLoginsPerAddress: 1_000_000, maxConcurrentHashes: 1_000 };
  return { ...modules, login: { ...login, settings: { ...limits, ...login.settings } } };
}

/** Seconds each measurement lasts (env BENCH_SECONDS, default 5). */
export function benchSeconds(): number {
  const n = Number(process.env.BENCH_SECONDS ?? 5);
  return Number.isFinite(n) && n > 0 ? n : 5;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resident set size of a process in KiB, from /proc/<pid>/status (VmRSS). */
export async function rssKiB(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Measures the CPU ms that `pids` use between window start and end. */
export class CpuMeter {
  private readonly start = new Map<number, number>();
  readonly used = new Map<number, number>();
  constructor(private readonly pids: number[]) {}
  edge(e: "start" | "end"): void {
    for (const pid of this.pids) {
      if (e === "start") this.start.set(pid, cpuMs(pid));
      else this.used.set(pid, cpuMs(pid) - (this.start.get(pid) ?? 0));
    }
  }
}
