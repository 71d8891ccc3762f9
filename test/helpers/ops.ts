import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connect, type Client } from "../../src/client/index.js";
import { SwitchyardError } from "../../src/protocol/errors.js";
import type { StatusRow } from "../../src/cli/status-view.js";
import type { MasterStatus } from "../../src/master/status.js";
import { freePort } from "./servers.js";
import { TEST_MAX_CONNECTIONS_PER_ADDRESS, withTestLoginLimits } from "./config.js";
import type { ModuleConfig } from "../../src/config/cluster-config.js";
import { pidAlive } from "../../src/process/pid-alive.js";

/** Root of the project; the tests run the built CLI (dist/) as separate processes. */
export const ROOT = join(import.meta.dirname, "..", "..");
export const BIN = join(ROOT, "bin", "switchyard.js");

/** Throws unless dist/ is built (npm test builds it in pretest). */
export function requireBuild(): void {
  if (!existsSync(join(ROOT, "dist", "src", "cli", "main.js")) || !existsSync(join(ROOT, "dist", "modules", "echo", "index.js"))) {
    throw new Error("the build is missing: run `npm run build` (npm test runs it through pretest)");
  }
}

/** A long-running CLI process (master, agent, module) whose stdout lines are collected. */
export interface CliProcess {
  proc: ChildProcess;
  lines: string[];
  stderr: string[];
  exited: Promise<number | null>;
  waitLine(re: RegExp, timeoutMs: number): Promise<string>;
}

/** Spawns `node bin/switchyard.js ...args`. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const lines: string[] = [];
  const stderr: string[] = [];
  const watchers = new Set<() => void>();
  let buf = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buf += chunk;
    const parts = buf.split("\n");
    buf = parts.pop()!;
    lines.push(...parts);
    for (const w of watchers) w();
  });
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    lines,
    stderr,
    exited,
    waitLine(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        let from = 0;
        const check = (): void => {
          for (; from < lines.length; from++) {
            if (re.test(lines[from]!)) {
              cleanup();
              resolve(lines[from]!);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no line matching ${re} within ${timeoutMs} ms; stderr: ${stderr.join("")}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        void exited.then(() => {
          if (watchers.has(check)) {
            cleanup();
            reject(new Error(`process exited before printing ${re}; stderr: ${stderr.join("")}`));
          }
        });
        check();
      });
    },
  };
}

/** Result of a one-shot `switchyard ctl ...`. */
export interface CtlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `switchyard ctl ...args --config configPath` and returns its exit code and output (never rejects). */
export function ctl(configPath: string, args: string[], timeoutMs = 60_000): Promise<CtlRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "ctl", ...args, "--config", configPath], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `ctl status --json`. */
export async function ctlStatus(configPath: string): Promise<{ master: MasterStatus | null; instances: StatusRow[] }> {
  const r = await ctl(configPath, ["status", "--json"], 15_000);
  if (r.code !== 0) throw new Error(`ctl status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { master: MasterStatus | null; instances: StatusRow[] };
}

/** True while a process with that pid exists. */
export function alive(pid: number): boolean {
  // a dead orphan may linger as a zombie where pid 1 does not reap: pidAlive tells them apart
  return pidAlive(pid);
}

export { until } from "../../src/testing/until.js";

/** Writes a cluster config with embedded nats/redis on free ports and one gateway; returns its path and ports. */
export async function writeOpsConfig(dir: string, name: string, extra: Record<string, unknown>): Promise<{ path: string; gwPort: number; natsUrl: string }> {
  const [natsPort, redisPort, gwPort] = [await freePort(), await freePort(), await freePort()];
  const path = join(dir, `${name}.json`);
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const cfg: Record<string, unknown> = {
    nats: { url: natsUrl, embedded: true },
    redis: { url: `redis://127.0.0.1:${redisPort}`, embedded: true },
    runtimeDir: join(dir, `${name}-run`),
    log: { level: "warn" },
    gateways: [{ id: "gw-1", host: "127.0.0.1", port: gwPort }],
    // The load of these tests is not abuse: no rate-limit kick.
    gateway: { rateLimit: { perSecond: 100_000, burst: 100_000 }, requestTimeoutMs: 2_000, maxConnectionsPerAddress: TEST_MAX_CONNECTIONS_PER_ADDRESS },
    ...extra,
    // a free port for the master's console and /metrics, never the default 9464 a running cluster may hold
    master: { httpPort: 0, ...(extra.master as Record<string, unknown> | undefined) },
  };
  // every test client comes from 127.0.0.1: the per-address login limits are raised
  if (cfg.modules !== undefined) cfg.modules = withTestLoginLimits(cfg.modules as Record<string, ModuleConfig>);
  writeFileSync(path, JSON.stringify(cfg));
  return { path, gwPort, natsUrl };
}

/** The built `defineModule`, as a file URL a module written at runtime can import. */
export function defineModuleUrl(): string {
  return pathToFileURL(join(ROOT, "dist", "src", "module", "index.js")).href;
}

/** Writes an echo module file of another version (same proto as the built one). */
export function writeEchoVersion(path: string, version: string): string {
  writeFileSync(
    path,
    `import { defineModule } from ${JSON.stringify(defineModuleUrl())};
export default defineModule({ name: "echo" }, {
  version: ${JSON.stringify(version)},
  handlers: {
    Echo(ctx, req) { return { text: req.text, data: req.data, servedBy: ctx.module.instanceId, version: ctx.module.version }; },
    async Sleep(ctx, req) {
      await new Promise((r) => setTimeout(r, Math.min(req.ms, 60000)));
      return { text: "slept", servedBy: ctx.module.instanceId, version: ctx.module.version };
    },
    WhoAmI(ctx) { const s = ctx.session; return { uid: s?.uid ?? "", sid: s?.sid ?? 0, gatewayId: s?.gatewayId ?? "" }; },
  },
});
`,
  );
  return path;
}

/** A logged-in SDK client on a gateway. */
export async function loggedIn(port: number, username: string): Promise<Client> {
  const c = await connect({ host: "127.0.0.1", port, heartbeatMs: 0, requestTimeoutMs: 15_000 });
  await c.request("login.Register", { username, password: "password-1" });
  await c.request("login.Login", { username, password: "password-1" });
  return c;
}

/** One request of a load run. */
export interface Sample {
  sentAt: number;
  doneAt: number;
  ok: boolean;
  version?: string;
  servedBy?: string;
  code?: string;
  /** Message of the error, for a failed request. */
  message?: string;
}

/** Continuous echo.Echo load: `workers` loops, each one request at a time, until `stop()`. */
export interface EchoLoad {
  readonly samples: Sample[];
  /** Requests sent and not answered yet. */
  readonly inflight: number;
  stop(): Promise<Sample[]>;
}

/** Starts a continuous load through one client; every outcome is recorded. */
export function startEchoLoad(client: Client, workers: number): EchoLoad {
  const samples: Sample[] = [];
  let running = true;
  let inflight = 0;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running; i++) {
      const sentAt = Date.now();
      inflight++;
      try {
        const r = await client.request("echo.Echo", { text: `w${w}-${i}` });
        samples.push({ sentAt, doneAt: Date.now(), ok: true, version: r.version, servedBy: r.servedBy });
      } catch (err) {
        samples.push({ sentAt, doneAt: Date.now(), ok: false, code: err instanceof SwitchyardError ? err.code : String(err), message: (err as Error).message });
        // A closed client rejects at once: stop instead of spinning on microtasks.
        if (client.isClosed) running = false;
        await new Promise((r) => setImmediate(r));
      } finally {
        inflight--;
      }
    }
  });
  return {
    samples,
    get inflight() {
      return inflight;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return samples;
    },
  };
}

/** A master-run cluster of a test: its folder, config and gateway port, and the master process. */
export interface OpsCluster {
  dir: string;
  config: string;
  gwPort: number;
  natsUrl: string;
  master: CliProcess;
}

/**
 * Writes a config (embedded nats/redis on free ports, one gateway, `extra` merged in) in a new
 * temp folder, starts `switchyard start` on it and waits for its ready line. The master's pid
 * goes into `pids`, the set `stopOpsCluster` kills whatever is left of; `env` is added to the
 * master's environment (its children inherit it).
 */
export async function startOpsCluster(prefix: string, extra: Record<string, unknown>, pids: Set<number>, env: NodeJS.ProcessEnv = {}): Promise<OpsCluster> {
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cfg = await writeOpsConfig(dir, "cluster", extra);
  const master = startCli(["start", "--config", cfg.path], env);
  if (master.proc.pid) pids.add(master.proc.pid);
  await master.waitLine(/^switchyard ready:/, 30_000);
  return { dir, config: cfg.path, gwPort: cfg.gwPort, natsUrl: cfg.natsUrl, master };
}

/** What a test started around its cluster, for `stopOpsCluster`. */
export interface OpsLeftovers {
  dir: string | undefined;
  master: CliProcess | undefined;
  pids: Set<number>;
  clients?: (Client | undefined)[];
  /** Other CLI processes (agents, hand-started modules): sent SIGTERM first. */
  others?: (CliProcess | undefined)[];
}

/** Closes the clients, stops the master with SIGINT (as Ctrl-C), kills any pid left, removes the folder. */
export async function stopOpsCluster(left: OpsLeftovers): Promise<void> {
  await Promise.allSettled((left.clients ?? []).map((c) => c?.close()));
  for (const p of left.others ?? []) if (p && p.proc.exitCode === null) p.proc.kill("SIGTERM");
  if (left.master && left.master.proc.exitCode === null) {
    left.master.proc.kill("SIGINT");
    await left.master.exited;
  }
  for (const pid of left.pids) if (alive(pid)) process.kill(pid, "SIGKILL");
  if (left.dir) rmSync(left.dir, { recursive: true, force: true });
}
