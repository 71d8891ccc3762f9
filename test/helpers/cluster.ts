import { connect as connectClient, type Client, type ClientOptions } from "../../src/client/index.js";
import { unorderedModules, type ClusterConfig } from "../../src/config/cluster-config.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { startModule, type ModuleDefinition, type ModuleHost } from "../../src/module/index.js";
import { createLogger } from "../../src/log/logger.js";
import { testConfig } from "./config.js";
import { startNats, startRedis, type RunningServer } from "./servers.js";

/** A cluster running inside the test process, on real nats-server and redis-server processes. */
export interface TestCluster {
  readonly nats: RunningServer;
  readonly redis: RunningServer;
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
}

/** Starts nats-server, redis-server, gateways and module instances for a test. */
export async function startTestCluster(spec: TestClusterSpec): Promise<TestCluster> {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  const config = testConfig(nats.url, redis.url, spec.config);
  const gateways: Gateway[] = [];
  const modules: ModuleHost[] = [];
  const clients: Client[] = [];
  const gatewayCount = spec.gateways ?? 1;
  for (let i = 0; i < gatewayCount; i++) {
    gateways.push(await createGateway({ id: `gw-${i + 1}`, port: 0, settings: config.gateway, nats: config.nats, logger: createLogger("gateway", `gw-${i + 1}`, config.log.level), unorderedModules: unorderedModules(config) }));
  }
  config.gateways = gateways.map((g) => ({ id: g.id, ...g.address() }));
  const cluster: TestCluster = {
    nats,
    redis,
    config,
    gateways,
    modules,
    async addModule(def, instanceId) {
      const host = await startModule({ definition: def, config, ...(instanceId ? { instanceId } : {}) });
      modules.push(host);
      return host;
    },
    async client(index = 0, opts = {}) {
      const c = await connectClient({ ...gateways[index]!.address(), heartbeatMs: 0, ...opts });
      clients.push(c);
      return c;
    },
    async loggedInClient(username, index = 0) {
      const c = await cluster.client(index);
      await c.request("login.Register", { username, password: "password-1" });
      const r = await c.request("login.Login", { username, password: "password-1" });
      return { client: c, uid: r.uid, token: r.token };
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await Promise.allSettled(modules.map((m) => m.stop()));
      await Promise.allSettled(gateways.map((g) => g.stop()));
      await Promise.allSettled([nats.stop(), redis.stop()]);
    },
  };
  try {
    for (const m of spec.modules) for (let i = 0; i < m.instances; i++) await cluster.addModule(m.def);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
