import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsSettings } from "../bus/connection.js";

/** NATS as the cluster uses it. */
export interface NatsConfig extends NatsSettings {
  /** Start a local nats-server when nothing answers at `url` (laptop mode). */
  embedded: boolean;
  /**
   * Modules whose instances may bind a session to a uid (publish `gw.<id>.bind`): they connect
   * as the NATS role `auth`, every other module as `module`. Default ["login"].
   */
  authModules?: string[];
}

/** Redis as the cluster uses it. */
export interface RedisConfig {
  url: string;
  /** Start a local redis-server when nothing answers at `url`. */
  embedded: boolean;
  /**
   * `maxmemory` of the embedded redis-server, in Redis syntax ("256mb", "2gb"), with policy
   * noeviction: once full, writes fail (OOM) instead of evicting acknowledged data. Default "256mb".
   */
  maxMemory?: string;
}

/** TLS for a gateway's client listener: PEM files, read when the gateway starts. */
export interface GatewayTls {
  /** Certificate chain (PEM), e.g. "/etc/switchyard/gw.crt". */
  certFile: string;
  /** Private key of the certificate (PEM). */
  keyFile: string;
}

/** One gateway process: where clients connect. */
export interface GatewayEndpoint {
  id: string;
  host: string;
  port: number;
  /**
   * WebSocket port (HTTP server with the WebSocket path and the gate); absent = no WebSocket.
   * With `tls`, it serves wss:// and https:// with the same certificate.
   */
  wsPort?: number;
  /** When set, clients connect with TLS (the frames inside are unchanged). */
  tls?: GatewayTls;
}

/** Limits and behaviour shared by every gateway. */
export interface GatewaySettings {
  /** Routes callable before login, e.g. "login.Login". */
  publicRoutes: string[];
  /** Largest accepted frame body in bytes; checked from the length prefix before buffering. */
  maxFrameBytes: number;
  /** Time a module has to answer a forwarded request. */
  requestTimeoutMs: number;
  /** A connection with no traffic (not even a heartbeat) for this long is closed. */
  idleTimeoutMs: number;
  /** A new connection that has not sent one complete packet within this time is closed. */
  firstPacketTimeoutMs: number;
  /** A frame whose first bytes arrived this long ago and that is still incomplete closes its connection. */
  frameTimeoutMs: number;
  /** Most requests a session may have waiting for replies at once. */
  maxInFlightPerSession: number;
  /** Most client connections one gateway holds. */
  maxConnections: number;
  /**
   * Most connections one client IP address may hold on one gateway (0 = no limit). Behind a
   * load balancer every client has the balancer's address: see README "Security and limits".
   */
  maxConnectionsPerAddress: number;
  /** Bytes queued for a slow reader before its connection is closed. */
  maxPendingOutputBytes: number;
  /** Token bucket per connection: sustained frames per second and burst. */
  rateLimit: { perSecond: number; burst: number };
  /** HTTP path of the WebSocket endpoint on `wsPort`, e.g. "/ws". */
  wsPath: string;
  /** HTTP path of the gate (GET: the least-loaded gateway as JSON) on `wsPort`, e.g. "/gate". */
  gatePath: string;
  /** Offer permessage-deflate to WebSocket clients (costs CPU and memory per connection). */
  wsPerMessageDeflate: boolean;
}

/** One module type in the cluster. */
export interface ModuleConfig {
  /** Instances the master keeps running. */
  instances: number;
  /** JS entry exporting the module definition; default dist/modules/<name>/index.js. */
  entry?: string;
  /** Time this module's calls to other modules may take. */
  callTimeoutMs?: number;
  /** How long a draining instance may finish its in-flight work (stateful: its rooms). */
  drainTimeoutMs?: number;
  /** Free-form settings handed to the module's hooks as `ctx.settings`. */
  settings?: Record<string, unknown>;
  /**
   * Default true: the gateways forward the requests of one session to this module one at a
   * time, in the order the client sent them (the next goes out once the previous is answered
   * or timed out). Set false for a module whose requests are independent (reads, echo): a
   * session's requests are then handled concurrently and may be answered in any order.
   */
  ordered?: boolean;
}

/** Supervision knobs of the master. */
export interface MasterSettings {
  restartBackoffMinMs: number;
  restartBackoffMaxMs: number;
  /** Crashes within `crashLoopWindowMs` that mark an instance as crash-looping. */
  crashLoopCount: number;
  crashLoopWindowMs: number;
  /** How long an instance may take to answer after being spawned. */
  readyTimeoutMs: number;
  /** HTTP port of `GET /metrics` and the console; 0 picks a free port, -1 turns HTTP off. */
  httpPort: number;
  /** Interface the HTTP server listens on. */
  httpHost: string;
  /** Bearer token of the console's actions (scale, rollout, kick); "" turns the actions off. */
  adminToken: string;
}

/** Metrics and tracing of every process. */
export interface TelemetryConfig {
  /** Prometheus metrics in every process, gathered by the master (default true). */
  metrics: boolean;
  /** OTLP/HTTP JSON endpoint spans are sent to, e.g. "http://127.0.0.1:4318/v1/traces"; "" = off. */
  otlpTracesUrl: string;
}

/** The whole cluster, as read from config/cluster.json. */
export interface ClusterConfig {
  nats: NatsConfig;
  redis: RedisConfig;
  /**
   * Where embedded servers keep data, pid files, configs and generated credentials; outside the
   * tracked tree. Must be this user's, mode 0700 (created so); default $TMPDIR/switchyard-<uid>.
   */
  runtimeDir: string;
  log: { level: string };
  gateways: GatewayEndpoint[];
  gateway: GatewaySettings;
  modules: Record<string, ModuleConfig>;
  master: MasterSettings;
  telemetry: TelemetryConfig;
  /** The web demo served by the master (README "Web demo"); null = not served. */
  web: WebSettings | null;
}

/** Where the master serves the web demo. */
export interface WebSettings {
  host: string;
  port: number;
}

/** Defaults for every optional field; a config file overrides any of them. */
export const DEFAULT_CONFIG: ClusterConfig = {
  nats: { url: "nats://127.0.0.1:4222", embedded: true, authModules: ["login"] },
  redis: { url: "redis://127.0.0.1:6379", embedded: true, maxMemory: "256mb" },
  runtimeDir: defaultRuntimeDir(),
  log: { level: "info" },
  gateways: [{ id: "gw-1", host: "127.0.0.1", port: 3250 }],
  gateway: {
    publicRoutes: ["login.Register", "login.Login", "login.Resume"],
    maxFrameBytes: 64 * 1024,
    requestTimeoutMs: 5_000,
    idleTimeoutMs: 60_000,
    firstPacketTimeoutMs: 30_000,
    frameTimeoutMs: 5_000,
    maxInFlightPerSession: 64,
    maxConnections: 20_000,
    maxConnectionsPerAddress: 100,
    maxPendingOutputBytes: 1024 * 1024,
    rateLimit: { perSecond: 200, burst: 400 },
    wsPath: "/ws",
    gatePath: "/gate",
    wsPerMessageDeflate: false,
  },
  modules: {},
  web: null,
  master: {
    restartBackoffMinMs: 250,
    restartBackoffMaxMs: 15_000,
    crashLoopCount: 5,
    crashLoopWindowMs: 60_000,
    readyTimeoutMs: 15_000,
    httpPort: 9464,
    httpHost: "127.0.0.1",
    adminToken: "",
  },
  telemetry: { metrics: true, otlpTracesUrl: "" },
};

/** $TMPDIR/switchyard-<uid>: one per user, so another user cannot create it first and read it. */
function defaultRuntimeDir(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return join(tmpdir(), `switchyard-${uid}`);
}

/**
 * Root of the framework: the installed `switchyard` package (its proto/, bin/, standard modules in
 * dist/modules/, templates/, default config). Found from this file, so it is right wherever the
 * package is installed.
 */
export function frameworkRoot(): string {
  if (cachedFrameworkRoot !== undefined) return cachedFrameworkRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (packageName(dir) === "switchyard") return (cachedFrameworkRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the switchyard package above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
let cachedFrameworkRoot: string | undefined;

/**
 * Root of the project being run (the studio's folder: its config/, proto/, compiled modules):
 * $SWITCHYARD_PROJECT, else the nearest folder holding a package.json up from the working
 * directory, else the framework root. In the framework's own repository both roots are the same.
 */
export function projectRoot(): string {
  const fromEnv = process.env.SWITCHYARD_PROJECT;
  if (fromEnv) return resolve(fromEnv);
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) return frameworkRoot();
    dir = up;
  }
}

function packageName(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/**
 * Path of the config file: $SWITCHYARD_CONFIG, else config/cluster.json of the project, else
 * (a project without one) the framework's default config/cluster.json.
 */
export function defaultConfigPath(): string {
  if (process.env.SWITCHYARD_CONFIG) return resolve(process.env.SWITCHYARD_CONFIG);
  const own = join(projectRoot(), "config", "cluster.json");
  return existsSync(own) ? own : join(frameworkRoot(), "config", "cluster.json");
}

/**
 * Reads and validates a cluster config. Unknown top-level keys and wrong types are errors
 * that name the key, so a typo does not silently fall back to a default.
 */
export function loadClusterConfig(path = defaultConfigPath()): ClusterConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read cluster config ${path}: ${(err as Error).message}`);
  }
  return parseClusterConfig(raw, path);
}

/** Modules whose config says `ordered: false` (what a gateway needs to know of the modules). */
export function unorderedModules(cfg: ClusterConfig): string[] {
  return Object.entries(cfg.modules)
    .filter(([, m]) => m.ordered === false)
    .map(([name]) => name);
}

/** Merges a parsed JSON object over the defaults and checks it. */
export function parseClusterConfig(raw: unknown, source = "config"): ClusterConfig {
  if (!isObject(raw)) throw new Error(`${source}: expected a JSON object`);
  for (const key of Object.keys(raw)) {
    if (!(key in DEFAULT_CONFIG) && key !== "$comment") throw new Error(`${source}: unknown key "${key}"`);
  }
  const cfg: ClusterConfig = {
    nats: { ...DEFAULT_CONFIG.nats, ...(raw.nats as object | undefined) },
    redis: { ...DEFAULT_CONFIG.redis, ...(raw.redis as object | undefined) },
    runtimeDir: typeof raw.runtimeDir === "string" ? resolve(raw.runtimeDir) : DEFAULT_CONFIG.runtimeDir,
    log: { ...DEFAULT_CONFIG.log, ...(raw.log as object | undefined) },
    gateways: Array.isArray(raw.gateways) ? (raw.gateways as GatewayEndpoint[]) : DEFAULT_CONFIG.gateways,
    gateway: {
      ...DEFAULT_CONFIG.gateway,
      ...(raw.gateway as object | undefined),
      rateLimit: { ...DEFAULT_CONFIG.gateway.rateLimit, ...((raw.gateway as { rateLimit?: object } | undefined)?.rateLimit) },
    },
    modules: (raw.modules as Record<string, ModuleConfig> | undefined) ?? {},
    master: { ...DEFAULT_CONFIG.master, ...(raw.master as object | undefined) },
    telemetry: { ...DEFAULT_CONFIG.telemetry, ...(raw.telemetry as object | undefined) },
    web: raw.web === undefined || raw.web === null ? null : { host: "127.0.0.1", ...(raw.web as object) } as WebSettings,
  };
  if (cfg.web !== null && (typeof cfg.web.host !== "string" || !Number.isInteger(cfg.web.port) || cfg.web.port < 0 || cfg.web.port > 65535)) {
    throw new Error(`${source}: web must be { "host"?: string, "port": 0-65535 } (or null: no web demo)`);
  }
  if (typeof cfg.nats.url !== "string" || cfg.nats.url === "") throw new Error(`${source}: nats.url must be a non-empty string`);
  if (typeof cfg.redis.url !== "string" || cfg.redis.url === "") throw new Error(`${source}: redis.url must be a non-empty string`);
  for (const key of ["user", "pass", "token"] as const) {
    if (cfg.nats[key] !== undefined && typeof cfg.nats[key] !== "string") throw new Error(`${source}: nats.${key} must be a string`);
  }
  if (!Array.isArray(cfg.nats.authModules) || cfg.nats.authModules.some((m) => typeof m !== "string")) {
    throw new Error(`${source}: nats.authModules must be a list of module names, e.g. ["login"]`);
  }
  if (typeof cfg.redis.maxMemory !== "string" || !/^\d+(b|kb|mb|gb)?$/i.test(cfg.redis.maxMemory)) {
    throw new Error(`${source}: redis.maxMemory must be a size such as "256mb" or "2gb"`);
  }
  if (cfg.nats.pass !== undefined && cfg.nats.user === undefined) throw new Error(`${source}: nats.pass is set but nats.user is not`);
  if (cfg.nats.tls !== undefined) {
    if (!isObject(cfg.nats.tls)) throw new Error(`${source}: nats.tls must be an object { caFile?, certFile?, keyFile? }`);
    for (const [key, file] of Object.entries(cfg.nats.tls)) {
      if (!["caFile", "certFile", "keyFile"].includes(key)) throw new Error(`${source}: unknown key nats.tls.${key} (expected caFile, certFile, keyFile)`);
      checkFile(file, `nats.tls.${key}`, source);
    }
  }
  if (!Number.isInteger(cfg.master.httpPort) || cfg.master.httpPort < -1 || cfg.master.httpPort > 65535) {
    throw new Error(`${source}: master.httpPort must be a port 0-65535 (0: a free one) or -1 (no HTTP)`);
  }
  if (typeof cfg.master.adminToken !== "string") throw new Error(`${source}: master.adminToken must be a string ("" turns the console's actions off)`);
  if (typeof cfg.telemetry.metrics !== "boolean") throw new Error(`${source}: telemetry.metrics must be true or false`);
  if (typeof cfg.telemetry.otlpTracesUrl !== "string" || (cfg.telemetry.otlpTracesUrl !== "" && !/^https?:\/\//.test(cfg.telemetry.otlpTracesUrl))) {
    throw new Error(`${source}: telemetry.otlpTracesUrl must be "" (off) or an http(s) URL such as "http://127.0.0.1:4318/v1/traces"`);
  }
  const ids = new Set<string>();
  for (const g of cfg.gateways) {
    if (typeof g.id !== "string" || !/^[A-Za-z0-9_-]+$/.test(g.id)) throw new Error(`${source}: gateways[].id must be a subject token, got ${JSON.stringify(g.id)}`);
    if (ids.has(g.id)) throw new Error(`${source}: duplicate gateway id "${g.id}"`);
    ids.add(g.id);
    if (!Number.isInteger(g.port) || g.port < 0 || g.port > 65535) throw new Error(`${source}: gateway ${g.id}: port must be 0-65535`);
    if (g.wsPort !== undefined && (!Number.isInteger(g.wsPort) || g.wsPort < 0 || g.wsPort > 65535)) throw new Error(`${source}: gateway ${g.id}: wsPort must be 0-65535`);
    if (typeof g.host !== "string") g.host = "127.0.0.1";
    if (g.tls !== undefined) {
      if (!isObject(g.tls)) throw new Error(`${source}: gateway ${g.id}: tls must be an object { certFile, keyFile }`);
      checkFile(g.tls.certFile, `gateways[${g.id}].tls.certFile`, source);
      checkFile(g.tls.keyFile, `gateways[${g.id}].tls.keyFile`, source);
    }
  }
  for (const key of ["wsPath", "gatePath"] as const) {
    const path = cfg.gateway[key];
    if (typeof path !== "string" || !/^\/[A-Za-z0-9._~/-]*$/.test(path)) throw new Error(`${source}: gateway.${key} must be an absolute URL path such as "/ws"`);
  }
  if (cfg.gateway.wsPath === cfg.gateway.gatePath) throw new Error(`${source}: gateway.wsPath and gateway.gatePath must differ`);
  if (typeof cfg.gateway.wsPerMessageDeflate !== "boolean") throw new Error(`${source}: gateway.wsPerMessageDeflate must be true or false`);
  for (const [name, m] of Object.entries(cfg.modules)) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`${source}: module name "${name}" must be lower-case letters, digits and '_'`);
    if (!isObject(m) || !Number.isInteger(m.instances) || m.instances < 0) {
      throw new Error(`${source}: modules.${name}.instances must be a whole number >= 0`);
    }
    if (m.ordered !== undefined && typeof m.ordered !== "boolean") throw new Error(`${source}: modules.${name}.ordered must be true or false`);
  }
  return cfg;
}

/** A file a setting names must exist now, not fail later inside a TLS handshake. */
function checkFile(file: unknown, key: string, source: string): void {
  if (typeof file !== "string" || file === "") throw new Error(`${source}: ${key} must be a file path`);
  if (!existsSync(file)) throw new Error(`${source}: ${key}: no file ${file} (paths are relative to the working directory)`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
