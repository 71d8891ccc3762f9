import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { connect, type ClientOptions } from "../client/index.js";
import { unorderedModules, type ClusterConfig, type ModuleConfig } from "../config/cluster-config.js";
import { resolveModuleEntry } from "../config/module-entry.js";
import type { Routes } from "../generated/proto.js";
import { createGateway, type Gateway } from "../gateway/index.js";
import { createLogger } from "../log/logger.js";
import type { ModuleDefinition } from "../module/define.js";
import { startModule, type ModuleHost } from "../module/host.js";
import { importModuleDefinition } from "../module/loader.js";
import { testConfig } from "./config.js";
import { startRedisSentinelGroup, type RedisSentinelGroup, type SentinelGroupOptions } from "./sentinel-group.js";
import { startNats, startRedis, type RunningServer } from "./servers.js";
import type { TypedClient } from "./typed-client.js";

/**
 * A module to run: a module name (the project's compiled module of that name, else the standard
 * module: "login", "rank", "team", "game", "chat", "social", "echo"), a path to a module file (anything with a "/"
 * or ending in .js/.ts, relative to the working directory), or a definition (defineModule's value).
 */
export type ModuleSource = string | ModuleDefinition;

/** A module with its instance count and settings (merged into `config.modules.<name>`). */
export interface ModuleSpec {
  module: ModuleSource;
  /** Default 1. */
  instances?: number;
  /** Replaces `modules.<name>.settings` of the config. */
  settings?: Record<string, unknown>;
  /** Sets `modules.<name>.ordered` (see README Configuration). */
  ordered?: boolean;
}

/** What to start. */
export interface ClusterSpec {
  modules: (ModuleSource | ModuleSpec)[];
  /** Gateways to start (ids gw-1, gw-2, …), each on a free port; default 1. */
  gateways?: number;
  /** Top-level sections that replace the test defaults (e.g. `gateway`, `modules`, `log`). */
  config?: Partial<ClusterConfig>;
  /**
   * Run Redis as a Sentinel group (primary, replicas, sentinels; see startRedisSentinelGroup)
   * instead of one redis-server; the config's `redis` section then reaches it through the sentinels.
   */
  redisSentinel?: SentinelGroupOptions;
}

/** A logged-in client: the client, the user's uid and session token. */
export interface LoggedInClient<R> {
  client: TypedClient<R>;
  uid: string;
  token: string;
}

/**
 * A cluster running inside the test process (gateways and module hosts) on real nats-server
 * and redis-server processes. `R` is the route map clients are typed with: pass the project's
 * generated `Routes`.
 */
export interface TestCluster<R = Routes> extends AsyncDisposable {
  readonly nats: RunningServer;
  /** The redis-server (with `redisSentinel`: the group's first primary, `redisGroup.nodes[0]`). */
  readonly redis: RunningServer;
  /** The Sentinel group when the spec asked for one, else null. */
  readonly redisGroup: RedisSentinelGroup | null;
  readonly config: ClusterConfig;
  readonly gateways: Gateway[];
  readonly modules: ModuleHost[];
  /** Starts one more instance of a module (a definition, or a name or path as in the spec). */
  addModule(module: ModuleSource, instanceId?: string): Promise<ModuleHost>;
  /**
   * Connects an SDK client to gateway `index` (default 0, heartbeats off) over TCP, or where
   * `opts.url` / `opts.gate` say; closed by stop().
   */
  client(index?: number, opts?: ClientOptions): Promise<TypedClient<R>>;
  /** Registers and logs in user `username` (password "password-1") on a new client; needs login. */
  loggedInClient(username: string, index?: number): Promise<LoggedInClient<R>>;
  /**
   * Closes every client, stops every module instance and gateway, then nats-server and
   * redis-server (their data folders removed). Resolves when no process is left; idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Starts nats-server and redis-server on free ports, then the gateways, then the module
 * instances in spec order. On a failure everything started is stopped before it rejects.
 *
 * @example
 * await using cluster = await startCluster<Routes>({ modules: ["login", greeter] });
 * const { client } = await cluster.loggedInClient("ann");
 */
export async function startCluster<R = Routes>(spec: ClusterSpec): Promise<TestCluster<R>> {
  const servers = await Promise.allSettled([startNats(), spec.redisSentinel !== undefined ? startRedisSentinelGroup(spec.redisSentinel) : startRedis()]);
  if (servers[0].status === "rejected" || servers[1].status === "rejected") {
    await Promise.allSettled(servers.map((s) => (s.status === "fulfilled" ? s.value.stop() : undefined)));
    throw servers[0].status === "rejected" ? servers[0].reason : (servers[1] as PromiseRejectedResult).reason;
  }
  const nats = servers[0].value;
  const redisServers = servers[1].value;
  const redisGroup = "sentinels" in redisServers ? redisServers : null;
  const redis = redisGroup !== null ? redisGroup.nodes[0]! : (redisServers as RunningServer);
  const config = testConfig(nats.url, redis.url, spec.config);
  if (redisGroup !== null) config.redis = { ...redisGroup.redisConfig, ...spec.config?.redis };
  const gateways: Gateway[] = [];
  const modules: ModuleHost[] = [];
  const clients: { close(): Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
      await Promise.allSettled(modules.map((m) => m.stop()));
      await Promise.allSettled(gateways.map((g) => g.stop()));
      await Promise.allSettled([nats.stop(), redisServers.stop()]);
      rmSync(config.runtimeDir, { recursive: true, force: true });
    })());

  const cluster: TestCluster<R> = {
    nats,
    redis,
    redisGroup,
    config,
    gateways,
    modules,
    async addModule(module, instanceId) {
      const definition = await definitionOf(module, config);
      const host = await startModule({ definition, config, ...(instanceId ? { instanceId } : {}) });
      modules.push(host);
      return host;
    },
    async client(index = 0, opts = {}) {
      const gateway = gateways[index];
      if (!gateway) throw new Error(`no gateway ${index}: this cluster has ${gateways.length}`);
      // A url or gate in opts names the gateway itself; else this gateway's TCP address.
      const where = opts.url !== undefined || opts.gate !== undefined ? {} : gateway.address();
      // Reconnecting off unless a test asks for it: the other tests observe the connection's end.
      const c = await connect({ ...where, heartbeatMs: 0, reconnect: false, ...opts });
      clients.push(c);
      return c as unknown as TypedClient<R>;
    },
    async loggedInClient(username, index = 0) {
      const client = await cluster.client(index);
      const raw = client as unknown as TypedClient<Routes>;
      await raw.request("login.Register", { username, password: "password-1" });
      const r = await raw.request("login.Login", { username, password: "password-1" });
      return { client, uid: r.uid, token: r.token };
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };

  try {
    const planned = spec.modules.map((m) => (typeof m === "object" && "module" in m ? m : { module: m }));
    const resolved = await Promise.all(planned.map(async (m) => ({ spec: m, def: await definitionOf(m.module, config) })));
    for (const { spec: m, def } of resolved) configure(config, def.name, m);
    for (let i = 0; i < (spec.gateways ?? 1); i++) {
      const id = `gw-${i + 1}`;
      const logger = createLogger("gateway", id, config.log.level);
      gateways.push(await createGateway({ id, port: 0, wsPort: 0, settings: config.gateway, nats: config.nats, redis: config.redis, logger, unorderedModules: unorderedModules(config) }));
    }
    config.gateways = gateways.map((g) => ({ id: g.id, ...g.address(), wsPort: g.wsAddress()?.port ?? 0 }));
    for (const { spec: m, def } of resolved) {
      for (let i = 0; i < (m.instances ?? 1); i++) await cluster.addModule(def);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}

/** Puts a module spec's instances, settings and ordering into `config.modules.<name>`. */
function configure(config: ClusterConfig, name: string, m: ModuleSpec): void {
  const entry: ModuleConfig = { ...(config.modules[name] ?? { instances: 0 }) };
  entry.instances = m.instances ?? 1;
  if (m.settings !== undefined) entry.settings = m.settings;
  if (m.ordered !== undefined) entry.ordered = m.ordered;
  config.modules = { ...config.modules, [name]: entry };
}

async function definitionOf(source: ModuleSource, config: ClusterConfig): Promise<ModuleDefinition> {
  if (typeof source !== "string") return source;
  if (/^[a-z][a-z0-9_]*$/.test(source)) return importModuleDefinition(source, resolveModuleEntry(source, config));
  return importModuleDefinition(undefined, resolve(source));
}
