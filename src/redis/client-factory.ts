import { Redis, type RedisOptions } from "ioredis";
import type { RedisConfig } from "../config/cluster-config.js";

/** Where Redis is: `redis.url`, or its sentinels (the keys of the cluster config's `redis`). */
export type RedisEndpoint = Pick<RedisConfig, "url"> & Partial<Pick<RedisConfig, "sentinels" | "name" | "sentinelPassword">>;

/** What a caller may choose about its Redis connection; everything else follows the config. */
export interface RedisClientOptions {
  /** CLIENT SETNAME of the connection (shown by CLIENT LIST), e.g. the instance id. */
  connectionName?: string;
  /** Called with each connection problem (ioredis keeps reconnecting by itself). */
  onError?: (err: Error) => void;
  /**
   * ioredis auto-pipelining: the commands of one event-loop turn go out as one pipeline. Off by
   * default: ioredis runs one such pipeline at a time per connection (the next waits for every
   * reply of the last), and on this project's rank load that cost more client CPU per command
   * and fewer commands per second than sending each at once (README → Performance). Custom
   * commands must then be defined before the first command (see src/module/redis-command.ts).
   */
  autoPipelining?: boolean;
}

/** How long one command may take, queued or sent, before it fails. */
const COMMAND_TIMEOUT_MS = 3_000;

/**
 * The one place a Redis client is made: a single server at `redis.url`, or, with
 * `redis.sentinels`, the current primary of group `redis.name` as the sentinels name it. In both
 * modes commands fail within 3 s while Redis is unreachable (a clear UNAVAILABLE beats a request
 * hanging until the gateway's timeout).
 */
export function createRedisClient(redis: RedisEndpoint, opts: RedisClientOptions = {}): Redis {
  const client = new Redis(redis.url, {
    ...connectionOptions(redis),
    ...(opts.connectionName !== undefined ? { connectionName: opts.connectionName } : {}),
    ...(opts.autoPipelining === true ? { enableAutoPipelining: true } : {}),
  });
  if (opts.onError !== undefined) client.on("error", opts.onError);
  return client;
}

function connectionOptions(redis: RedisEndpoint): RedisOptions {
  const common: RedisOptions = {
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  };
  if (redis.sentinels === undefined) {
    // One server: after a failed reconnect the queued commands fail at once (it is down).
    return { ...common, maxRetriesPerRequest: 1 };
  }
  return {
    ...common,
    // A promotion takes a few reconnects (the sentinels name the dead primary until they agree):
    // queued commands wait for the new primary, bounded by commandTimeout.
    maxRetriesPerRequest: null,
    sentinels: redis.sentinels.map((s) => ({ host: s.host, port: s.port })),
    ...(redis.name !== undefined ? { name: redis.name } : {}),
    ...(redis.sentinelPassword !== undefined ? { sentinelPassword: redis.sentinelPassword } : {}),
    role: "master",
    // Also leave a primary that was demoted while still reachable (manual failover, partition).
    failoverDetector: true,
  };
}
