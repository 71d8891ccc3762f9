import { describe, expect, it } from "vitest";
import { ConfigError, parseClusterConfig } from "../../../src/config/cluster-config.js";
import { confirmReplicasOf } from "../../../src/redis/index.js";

const withRedis = (redis: Record<string, unknown>) => parseClusterConfig({ redis: { url: "redis://:pw@127.0.0.1:6379", embedded: false, ...redis } }, "cluster.json");

/** The message a config is refused with. */
function refusal(redis: Record<string, unknown>): string {
  try {
    withRedis(redis);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("expected the config to be refused");
}

describe("redis.sentinels, name, sentinelPassword, confirmReplicas, confirmTimeoutMs", () => {
  it("accepts a Sentinel group; writes wait for 1 replica by default with sentinels, for none without; 1000 ms", () => {
    const cfg = withRedis({ sentinels: [{ host: "10.0.0.5", port: 26379 }], name: "main", sentinelPassword: "s" });
    expect(cfg.redis.sentinels).toEqual([{ host: "10.0.0.5", port: 26379 }]);
    expect(cfg.redis.confirmTimeoutMs).toBe(1_000);
    expect(confirmReplicasOf(cfg.redis)).toBe(1);
    expect(confirmReplicasOf(withRedis({}).redis)).toBe(0);
    expect(confirmReplicasOf(withRedis({ confirmReplicas: 2 }).redis)).toBe(2);
    expect(confirmReplicasOf(withRedis({ sentinels: [{ host: "h", port: 1 }], name: "m", confirmReplicas: 0 }).redis)).toBe(0);
  });

  it("refuses bad values, naming the key path", () => {
    expect(refusal({ sentinels: [] })).toContain("redis.sentinels");
    expect(refusal({ sentinels: [{ host: "h", port: 0 }], name: "m" })).toContain("redis.sentinels[0].port: Too small");
    expect(refusal({ sentinels: [{ host: "h", port: 26379, extra: 1 }], name: "m" })).toContain("unknown key");
    expect(refusal({ sentinels: [{ host: "h", port: 26379 }] })).toContain("redis.name");
    expect(refusal({ sentinelPassword: 5 })).toContain("redis.sentinelPassword");
    expect(refusal({ confirmReplicas: -1 })).toContain("redis.confirmReplicas");
    expect(refusal({ confirmTimeoutMs: 5_000 })).toContain("redis.confirmTimeoutMs");
  });
});
