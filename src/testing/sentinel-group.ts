import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { DEFAULT_CONFIG, type RedisConfig } from "../config/cluster-config.js";
import { createRedisClient } from "../redis/index.js";
import { redisSentinelConfig } from "../servers/redis-sentinel-config.js";
import { redisServerConfig } from "../servers/redis-server-config.js";
import { startTestServer, type RunningServer } from "./servers.js";
import { until } from "./until.js";

/** The shape of a Redis Sentinel group for a test. */
export interface SentinelGroupOptions {
  /** Replicas of the primary (default 1). */
  replicas?: number;
  /** redis-sentinel processes (default 3; quorum is a majority). */
  sentinels?: number;
  /** `down-after-milliseconds` (default 1000): how soon a silent primary counts as down. */
  downAfterMs?: number;
}

/**
 * A primary, its replicas and the sentinels watching them, each a real process on a free
 * loopback port. The data nodes have a password (`requirepass`, `masterauth`), the sentinels
 * their own, and each data node refuses writes while it has no replica (min-replicas-to-write 1).
 */
export interface RedisSentinelGroup {
  /** Master group name (`redis.name`). */
  readonly name: string;
  /** The data nodes; `nodes[0]` was the primary at start (Sentinel may have promoted another since). */
  readonly nodes: readonly RunningServer[];
  readonly sentinels: readonly RunningServer[];
  /** The `redis` section of a cluster config that reaches this group through its sentinels. */
  readonly redisConfig: RedisConfig;
  /** Port of the primary the sentinels name now (asks the first sentinel that answers). */
  primaryPort(): Promise<number>;
  /** Waits until the sentinels name a primary other than `oldPort` and it answers as primary with `replicas` replicas online. */
  waitForPromotion(oldPort: number, replicas: number, timeoutMs?: number): Promise<number>;
  /**
   * Starts data node `index` again (after a kill) as a replica of the primary the sentinels name
   * now, as the config Sentinel rewrites on a managed node would; without it, a restarted old
   * primary waits for Sentinel to notice and demote it (up to its 10 s INFO period).
   */
  restartAsReplica(index: number): Promise<void>;
  /** Waits until the current primary has `count` replicas online and every sentinel knows them all. */
  waitForReplicas(count: number, timeoutMs?: number): Promise<void>;
  /** Stops every process (sentinels first) and removes their folders. */
  stop(): Promise<void>;
}

/** Starts a primary, `replicas` replicas and `sentinels` sentinels; resolves once the sentinels see each other and every replica. */
export async function startRedisSentinelGroup(opts: SentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
  const replicaCount = opts.replicas ?? 1;
  const sentinelCount = opts.sentinels ?? 3;
  const name = "sy-main";
  const password = randomBytes(12).toString("hex");
  const sentinelPassword = randomBytes(12).toString("hex");
  const nodes: RunningServer[] = [];
  const sentinels: RunningServer[] = [];
  const probes: Redis[] = [];
  const stop = async (): Promise<void> => {
    for (const p of probes) p.disconnect();
    await Promise.allSettled(sentinels.map((s) => s.stop()));
    await Promise.allSettled(nodes.map((n) => n.stop()));
  };
  try {
    /** Where each data node replicates from at its next start (null: it starts as a primary). */
    const replicaOf: ({ host: string; port: number } | null)[] = [];
    const node = (index: number): Promise<RunningServer> =>
      startTestServer("redis-server", (port, dir) => {
        const from = replicaOf[index] ?? null;
        return redisServerConfig({ host: "127.0.0.1", port, dir, password, primaryPassword: password, minReplicasToWrite: 1, ...(from !== null ? { replicaOf: from } : {}) });
      });
    replicaOf.push(null);
    const primary = await node(0);
    nodes.push(primary);
    for (let i = 1; i <= replicaCount; i++) {
      replicaOf.push({ host: "127.0.0.1", port: primary.port });
      nodes.push(await node(i));
    }
    for (let i = 0; i < sentinelCount; i++) {
      sentinels.push(
        await startTestServer("redis-sentinel", (port, dir) =>
          redisSentinelConfig({
            host: "127.0.0.1",
            port,
            dir,
            name,
            primary: { host: "127.0.0.1", port: primary.port },
            quorum: Math.floor(sentinelCount / 2) + 1,
            downAfterMs: opts.downAfterMs ?? 1_000,
            nodePassword: password,
            password: sentinelPassword,
          }),
        ),
      );
    }
    const redisConfig: RedisConfig = {
      ...DEFAULT_CONFIG.redis,
      url: `redis://:${password}@127.0.0.1:${primary.port}`,
      embedded: false,
      sentinels: sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })),
      name,
      sentinelPassword,
    };
    const sentinelProbes = sentinels.map((s) => {
      const c = createRedisClient({ url: `redis://:${sentinelPassword}@127.0.0.1:${s.port}` });
      c.on("error", () => undefined);
      probes.push(c);
      return c;
    });
    const nodeProbe = (port: number): Redis => {
      const c = createRedisClient({ url: `redis://:${password}@127.0.0.1:${port}` });
      c.on("error", () => undefined);
      return c;
    };

    const primaryPort = async (): Promise<number> => {
      for (const s of sentinelProbes) {
        const addr = (await s.call("SENTINEL", "get-master-addr-by-name", name).catch(() => null)) as [string, string] | null;
        if (addr !== null) return Number(addr[1]);
      }
      throw new Error(`no sentinel of group ${name} answers`);
    };
    /** Replicas online at `port` when it is a primary; undefined otherwise. */
    const onlineReplicas = async (port: number): Promise<number | undefined> => {
      const c = nodeProbe(port);
      try {
        const info = await c.info("replication");
        if (!/^role:master$/m.test(info)) return undefined;
        return (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
      } catch {
        return undefined;
      } finally {
        c.disconnect();
      }
    };
    const waitForReplicas = async (count: number, timeoutMs = 15_000): Promise<void> => {
      await until(`${count} replicas online and known to every sentinel`, timeoutMs, async () => {
        const port = await primaryPort();
        if (((await onlineReplicas(port)) ?? -1) < count) return undefined;
        for (const s of sentinelProbes) {
          const replicas = (await s.call("SENTINEL", "replicas", name)) as unknown[];
          const peers = (await s.call("SENTINEL", "sentinels", name)) as unknown[];
          if (replicas.length < count || peers.length < sentinelCount - 1) return undefined;
        }
        return true;
      });
    };
    await waitForReplicas(replicaCount);
    return {
      name,
      nodes,
      sentinels,
      redisConfig,
      primaryPort,
      waitForReplicas,
      async restartAsReplica(index) {
        const node = nodes[index];
        if (node === undefined) throw new Error(`no data node ${index}: the group has ${nodes.length}`);
        replicaOf[index] = { host: "127.0.0.1", port: await primaryPort() };
        await node.restart();
      },
      async waitForPromotion(oldPort, replicas, timeoutMs = 15_000) {
        return until(`a primary other than port ${oldPort}`, timeoutMs, async () => {
          const port = await primaryPort();
          if (port === oldPort) return undefined;
          return ((await onlineReplicas(port)) ?? -1) >= replicas ? port : undefined;
        });
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
