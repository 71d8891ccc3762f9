import { describe, expect, it } from "vitest";
import { confirmReplicasOf, parseClusterConfig } from "../../../src/config/cluster-config.js";

const withRedis = (redis: Record<string, unknown>) => parseClusterConfig({ redis: { url: "redis://:pw@127.0.0.1:6379", embedded: false, ...redis } }, "cluster.json");

describe("redis.sentinels, name, sentinelPassword, confirmReplicas, confirmTimeoutMs", () => {
  it("accepts a Sentinel group; writes wait for 1 replica by default with sentinels, for none without", () => {
    const cfg = withRedis({ sentinels: [{ host: "10.0.0.5", port: 26379 }], name: "main", sentinelPassword: "s" });
    expect(cfg.redis.sentinels).toEqual([{ host: "10.0.0.5", port: 26379 }]);
    expect(confirmReplicasOf(cfg.redis)).toBe(1);
    expect(confirmReplicasOf(withRedis({}).redis)).toBe(0);
    expect(confirmReplicasOf(withRedis({ confirmReplicas: 2 }).redis)).toBe(2);
    expect(confirmReplicasOf(withRedis({ sentinels: [{ host: "h", port: 1 }], name: "m", confirmReplicas: 0 }).redis)).toBe(0);
  });

  it("refuses bad values, naming the key", () => {
    expect(() => withRedis({ sentinels: [] })).toThrow("cluster.json: redis.sentinels must be a non-empty list");
    expect(() => withRedis({ sentinels: [{ host: "h", port: 0 }], name: "m" })).toThrow("redis.sentinels[0] must be");
    expect(() => withRedis({ sentinels: [{ host: "h", port: 26379 }] })).toThrow("redis.name (the sentinels' master group name) is required");
    expect(() => withRedis({ sentinelPassword: 5 })).toThrow("redis.sentinelPassword must be a string");
    expect(() => withRedis({ confirmReplicas: -1 })).toThrow("redis.confirmReplicas must be a whole number 0-16");
    expect(() => withRedis({ confirmTimeoutMs: 5_000 })).toThrow("redis.confirmTimeoutMs must be a whole number of ms, 1-2000");
  });
});
