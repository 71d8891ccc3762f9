import type { Client, ClientOptions } from "../../src/client/index.js";
import type { ClusterConfig } from "../../src/config/cluster-config.js";
import type { Gateway } from "../../src/gateway/index.js";
import type { ModuleDefinition, ModuleHost } from "../../src/module/index.js";
import { startCluster, type RedisSentinelGroup, type SentinelGroupOptions } from "../../src/testing/index.js";
import type { RunningServer } from "./servers.js";

/** A cluster running inside the test process, on real nats-server and redis-server processes. */
export interface TestCluster {
  readonly nats: RunningServer;
  readonly redis: RunningServer;
  /** The Sentinel group when the spec asked for one (`redisSentinel`), else null. */
  readonly redisGroup: RedisSentinelGroup | null;
  readonly config: ClusterConfig;
  readonly gateways: Gateway[];
  readonly modules: ModuleHost[];
  /** Starts one more instance of a module. */
  addModule(def: ModuleDefinition, instanceId?: string): Promise<ModuleHost>;
  /** Connects an SDK client to gateway `index` (default 0); closed by stop(). */
  client(index?: number, opts?: ClientOptions): Promise<Client>;
  /** Registers and logs in a fresh user on a new client; returns the client and uid. */
  loggedInClient(username: string, index?: number): Promise<{ client: Client; uid: string; token: string }>;
  stop(): Promise<void>;
}

/** What to start: module definitions with instance counts, and how many gateways. */
export interface TestClusterSpec {
  modules: { def: ModuleDefinition; instances: number }[];
  gateways?: number;
  config?: Partial<ClusterConfig>;
  /** Redis as a Sentinel group instead of one redis-server (see startRedisSentinelGroup). */
  redisSentinel?: SentinelGroupOptions;
}

/** Starts nats-server, redis-server, gateways and module instances for a test (switchyard/testing). */
export async function startTestCluster(spec: TestClusterSpec): Promise<TestCluster> {
  const cluster = await startCluster({
    modules: spec.modules.map((m) => ({ module: m.def, instances: m.instances })),
    ...(spec.gateways !== undefined ? { gateways: spec.gateways } : {}),
    ...(spec.config !== undefined ? { config: spec.config } : {}),
    ...(spec.redisSentinel !== undefined ? { redisSentinel: spec.redisSentinel } : {}),
  });
  // The kit's clients are the SDK's Client, typed by route map; this repository's tests use the SDK type.
  return cluster as unknown as TestCluster;
}
