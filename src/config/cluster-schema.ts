import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";

/** Longest delay a Node timer takes (2^31 - 1 ms); a larger value would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** An object that refuses keys it does not declare, naming the ones it accepts. */
function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const expected = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `unknown key (expected one of: ${expected})` : undefined),
  });
}

const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
const durationMs = (min = 1) => z.int().min(min).max(MAX_TIMER_MS);
const nonEmpty = z.string().min(1);
const urlPath = z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, { error: 'expected an absolute URL path such as "/ws"' });
const moduleName = z.string().regex(/^[a-z][a-z0-9_]*$/, { error: "expected a module name: lower-case letters, digits and '_', starting with a letter" });

/** A file a setting names must exist now, not fail later inside a TLS handshake. */
const existingFile = nonEmpty.refine((file) => existsSync(file), {
  error: (issue) => `no file ${String(issue.input)} (paths are relative to the working directory)`,
});

const natsTlsSchema = strictObject({ caFile: existingFile.optional(), certFile: existingFile.optional(), keyFile: existingFile.optional() });

const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

const natsConfigSchema = strictObject({
  /** One or more server URLs, comma-separated, e.g. "nats://127.0.0.1:4222". */
  url: nonEmpty.optional(),
  /** The servers of a NATS cluster, one URL each; every process connects with all of them. */
  servers: z.array(nonEmpty).min(1).optional(),
  /** Start a local nats-server on each URL where nothing answers (laptop mode); several URLs: routed as one cluster. */
  embedded: z.boolean().default(true),
  /** Route (cluster) port of each embedded nats-server, in the order of the URLs; default client port + 2000. */
  routePorts: z.array(wholeNumber(1, 65_535)).optional(),
  user: nonEmpty.optional(),
  pass: z.string().optional(),
  token: nonEmpty.optional(),
  /** TLS to the NATS server: CA/cert/key file paths. */
  tls: natsTlsSchema.optional(),
  /**
   * Modules whose instances may bind a session to a uid (publish `gw.<id>.bind`): they connect
   * as the NATS role `auth`, every other module as `module`.
   */
  authModules: z.array(moduleName).default(() => ["login"]),
})
  .refine((nats) => nats.pass === undefined || nats.user !== undefined, { path: ["pass"], error: "nats.pass is set but nats.user is not" })
  .refine((nats) => nats.url === undefined || nats.servers === undefined, { path: ["servers"], error: "give nats.url or nats.servers, not both" })
  // `servers` is folded into `url` (comma-separated), the one form every process reads.
  .transform(({ servers, url, ...rest }) => ({ ...rest, url: url ?? servers?.join(",") ?? DEFAULT_NATS_URL }))
  .refine((nats) => nats.routePorts === undefined || nats.routePorts.length === nats.url.split(",").length, {
    path: ["routePorts"],
    error: "expected one route port per NATS URL",
  });

/** One Redis Sentinel process. */
const sentinelAddressSchema = strictObject({ host: nonEmpty, port: wholeNumber(1, 65_535) });

const redisConfigSchema = strictObject({
  url: nonEmpty.default("redis://127.0.0.1:6379"),
  /** Start a local redis-server when nothing answers at `url`. */
  embedded: z.boolean().default(true),
  /**
   * `maxmemory` of the embedded redis-server, in Redis syntax ("256mb", "2gb"), with policy
   * noeviction: once full, writes fail (OOM) instead of evicting acknowledged data.
   */
  maxMemory: z.string().regex(/^\d+(b|kb|mb|gb)?$/i, { error: 'expected a size such as "256mb" or "2gb"' }).default("256mb"),
  /**
   * Redis Sentinel: clients ask these sentinels for the primary of group `name` and follow a
   * failover by themselves; the host and port of `url` are then unused (its password, user name
   * and database number still apply to the primary and replicas).
   */
  sentinels: z.array(sentinelAddressSchema).min(1).optional(),
  /** Name of the master group the sentinels monitor (`sentinel monitor <name> …`). */
  name: nonEmpty.optional(),
  /** Password of the sentinels themselves (their `requirepass`), when they have one. */
  sentinelPassword: z.string().optional(),
  /**
   * Replicas that must confirm (Redis `WAIT`) a request's writes before the module answers it;
   * an unconfirmed request is answered UNAVAILABLE. Absent: 1 with `sentinels`, else 0.
   */
  confirmReplicas: wholeNumber(0, 16).optional(),
  /** How long that confirmation may take (below the 3 s command timeout of the Redis clients). */
  confirmTimeoutMs: wholeNumber(1, 2_000).default(1_000),
}).refine((redis) => redis.sentinels === undefined || redis.name !== undefined, {
  path: ["name"],
  error: "required with redis.sentinels: the master group name the sentinels monitor",
});

/** TLS for a gateway's client listener: PEM files, read when the gateway starts. */
const gatewayTlsSchema = strictObject({
  /** Certificate chain (PEM), e.g. "/etc/switchyard/gw.crt". */
  certFile: existingFile,
  /** Private key of the certificate (PEM). */
  keyFile: existingFile,
});

/** One gateway process: where clients connect. */
const gatewayEndpointSchema = strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]+$/, { error: "expected a subject token: letters, digits, '_' and '-'" }),
  host: nonEmpty.default("127.0.0.1"),
  port: wholeNumber(0, 65_535),
  /**
   * WebSocket port (HTTP server with the WebSocket path and the gate); absent = no WebSocket.
   * With `tls`, it serves wss:// and https:// with the same certificate.
   */
  wsPort: wholeNumber(0, 65_535).optional(),
  /** When set, clients connect with TLS (the frames inside are unchanged). */
  tls: gatewayTlsSchema.optional(),
}).refine((g) => g.wsPort === undefined || g.wsPort === 0 || g.wsPort !== g.port, { path: ["wsPort"], error: "expected a port other than the gateway's TCP port" });

const gatewaysSchema = z.array(gatewayEndpointSchema).superRefine((gateways, ctx) => {
  const seen = new Set<string>();
  gateways.forEach((g, i) => {
    if (seen.has(g.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate gateway id "${g.id}"` });
    seen.add(g.id);
  });
});

/** Limits and behaviour shared by every gateway. */
const gatewaySettingsSchema = strictObject({
  /** Routes callable before login, e.g. "login.Login". */
  publicRoutes: z
    .array(z.string().regex(/^[a-z][a-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$/, { error: 'expected a route "module.Method", e.g. "login.Login"' }))
    .default(() => ["login.Register", "login.Login", "login.Resume"]),
  /** Largest accepted frame body in bytes; checked from the length prefix before buffering. */
  maxFrameBytes: wholeNumber(1, 0xffff_ffff).default(64 * 1024),
  /** Time a module has to answer a forwarded request. */
  requestTimeoutMs: durationMs().default(5_000),
  /** A connection with no traffic (not even a heartbeat) for this long is closed. */
  idleTimeoutMs: durationMs().default(60_000),
  /** A new connection that has not sent one complete packet within this time is closed. */
  firstPacketTimeoutMs: durationMs().default(30_000),
  /** A frame whose first bytes arrived this long ago and that is still incomplete closes its connection. */
  frameTimeoutMs: durationMs().default(5_000),
  /** Most requests a session may have waiting for replies at once. */
  maxInFlightPerSession: wholeNumber(1).default(64),
  /** Most client connections one gateway holds. */
  maxConnections: wholeNumber(1).default(20_000),
  /**
   * Most connections one client IP address may hold on one gateway (0 = no limit). Behind a
   * load balancer every client has the balancer's address: see README "Security and limits".
   */
  maxConnectionsPerAddress: wholeNumber(0).default(100),
  /** Bytes queued for a slow reader before its connection is closed. */
  maxPendingOutputBytes: wholeNumber(1).default(1024 * 1024),
  /** Token bucket per connection: sustained frames per second and burst. */
  rateLimit: strictObject({ perSecond: z.number().positive().default(200), burst: wholeNumber(1).default(400) }).prefault({}),
  /** HTTP path of the WebSocket endpoint on `wsPort`, e.g. "/ws". */
  wsPath: urlPath.default("/ws"),
  /** HTTP path of the gate (GET: the least-loaded gateway as JSON) on `wsPort`, e.g. "/gate". */
  gatePath: urlPath.default("/gate"),
  /** Offer permessage-deflate to WebSocket clients (costs CPU and memory per connection). */
  wsPerMessageDeflate: z.boolean().default(false),
  /** Sessions whose connection dropped: kept this long, their pushes stored in Redis (README "Resume"). */
  resume: strictObject({
    /** How long a dropped session waits for login.Resume; 0 turns resume off. */
    windowMs: durationMs(0).default(60_000),
    /** Most pushes kept per away uid; past it the resume answers RESYNC. */
    maxPushes: wholeNumber(1).default(1_000),
    /** Most bytes of pushes kept per away uid; past it the resume answers RESYNC. */
    maxBytes: wholeNumber(1).default(1024 * 1024),
    /** Pushes a connected session remembers, replayed when they died in the socket with it. */
    recentPushes: wholeNumber(0).default(64),
  }).prefault({}),
  /**
   * A draining gateway (SIGTERM, `ctl rollout gateway`) keeps the sessions it sent away (KICK
   * MOVED) this long, their pushes stored, until a resume elsewhere takes each over; then it exits.
   */
  handoverTimeoutMs: durationMs(0).default(10_000),
}).refine((g) => g.wsPath !== g.gatePath, { path: ["gatePath"], error: "expected gateway.gatePath to differ from gateway.wsPath" });

/** One module type in the cluster. */
const moduleConfigSchema = strictObject({
  /** Instances the master keeps running. */
  instances: wholeNumber(0),
  /** JS entry exporting the module definition; default dist/modules/<name>/index.js. */
  entry: nonEmpty.optional(),
  /** Time this module's calls to other modules may take (default 5 s, applied by the runtime). */
  callTimeoutMs: durationMs().optional(),
  /** How long a draining instance may finish its in-flight work (stateful: its rooms); default 30 s. */
  drainTimeoutMs: durationMs(0).optional(),
  /** Settings handed to the module's hooks as `ctx.settings`, checked by the module's own schema. */
  settings: z.record(z.string(), z.unknown()).optional(),
  /**
   * Default true: the gateways forward the requests of one session to this module one at a
   * time, in the order the client sent them (the next goes out once the previous is answered
   * or timed out). Set false for a module whose requests are independent (reads, echo): a
   * session's requests are then handled concurrently and may be answered in any order.
   */
  ordered: z.boolean().optional(),
});

/** Supervision knobs of the master. */
const masterSettingsSchema = strictObject({
  restartBackoffMinMs: durationMs(0).default(250),
  restartBackoffMaxMs: durationMs(0).default(15_000),
  /** Crashes within `crashLoopWindowMs` that mark an instance as crash-looping. */
  crashLoopCount: wholeNumber(1).default(5),
  crashLoopWindowMs: durationMs().default(60_000),
  /** How long an instance may take to answer after being spawned. */
  readyTimeoutMs: durationMs().default(15_000),
  /** HTTP port of `GET /metrics` and the console; 0 picks a free port, -1 turns HTTP off. */
  httpPort: z.int().min(-1).max(65_535).default(9464),
  /** Interface the HTTP server listens on. */
  httpHost: nonEmpty.default("127.0.0.1"),
  /** Bearer token of the console's actions (scale, rollout, kick); "" turns the actions off. */
  adminToken: z.string().default(""),
}).refine((m) => m.restartBackoffMaxMs >= m.restartBackoffMinMs, {
  path: ["restartBackoffMaxMs"],
  error: "expected restartBackoffMaxMs >= restartBackoffMinMs",
});

const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
export type LogLevel = z.infer<typeof logLevelSchema>;

/** `value` as a pino level, or a ConfigError-style message naming what is accepted. */
export function parseLogLevel(value: string): LogLevel {
  const result = logLevelSchema.safeParse(value);
  if (!result.success) throw new Error(`log level "${value}": expected one of ${logLevelSchema.options.join(", ")}`);
  return result.data;
}

/** $TMPDIR/switchyard-<uid>: one per user, so another user cannot create it first and read it. */
function defaultRuntimeDir(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return join(tmpdir(), `switchyard-${uid}`);
}

/** Metrics and tracing of every process. */
const telemetrySchema = strictObject({
  /** Prometheus metrics in every process, gathered by the master. */
  metrics: z.boolean().default(true),
  /** OTLP/HTTP JSON endpoint spans are sent to, e.g. "http://127.0.0.1:4318/v1/traces"; "" = off. */
  otlpTracesUrl: z.union([z.literal(""), z.string().regex(/^https?:\/\//, { error: 'expected "" (off) or an http(s) URL such as "http://127.0.0.1:4318/v1/traces"' })]).default(""),
});

/** Where the master serves the web demo (README "Web demo"). */
const webSettingsSchema = strictObject({
  host: nonEmpty.default("127.0.0.1"),
  /** 0 = any free port. */
  port: wholeNumber(0, 65535),
});

/** The whole cluster, as read from config/cluster.json: every key optional but `modules.<name>.instances`. */
export const clusterConfigSchema = strictObject({
  $comment: z.string().optional(),
  nats: natsConfigSchema.prefault({}),
  redis: redisConfigSchema.prefault({}),
  /**
   * Where embedded servers keep data, pid files, configs and generated credentials; outside the
   * tracked tree. Must be this user's, mode 0700 (created so); default $TMPDIR/switchyard-<uid>.
   */
  runtimeDir: nonEmpty.transform((dir) => resolve(dir)).default(defaultRuntimeDir),
  log: strictObject({ level: logLevelSchema.default("info") }).prefault({}),
  gateways: gatewaysSchema.default(() => [{ id: "gw-1", host: "127.0.0.1", port: 3250 }]),
  gateway: gatewaySettingsSchema.prefault({}),
  modules: z.record(moduleName, moduleConfigSchema).default(() => ({})),
  master: masterSettingsSchema.prefault({}),
  telemetry: telemetrySchema.prefault({}),
  /** The web demo served by the master (README "Web demo"); null = not served. */
  web: webSettingsSchema.nullable().default(null),
});

export type NatsConfig = z.infer<typeof natsConfigSchema>;
export type RedisConfig = z.infer<typeof redisConfigSchema>;
export type GatewayTls = z.infer<typeof gatewayTlsSchema>;
export type GatewayEndpoint = z.infer<typeof gatewayEndpointSchema>;
export type GatewaySettings = z.infer<typeof gatewaySettingsSchema>;
export type ModuleConfig = z.infer<typeof moduleConfigSchema>;
export type MasterSettings = z.infer<typeof masterSettingsSchema>;
export type TelemetryConfig = z.infer<typeof telemetrySchema>;
export type WebSettings = z.infer<typeof webSettingsSchema>;
export type ClusterConfig = z.infer<typeof clusterConfigSchema>;
