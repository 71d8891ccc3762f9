import type { Redis } from "ioredis";
import { createRedisClient } from "../../src/redis/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoginKeys } from "../../modules/login/accounts.js";
import { UsernameCache } from "../../modules/shared/username-cache.js";
import { startRedis, type RunningServer } from "../helpers/servers.js";

describe("UsernameCache against a real redis-server", () => {
  let server: RunningServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = createRedisClient({ url: server.url });
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("reads names once, serves them from memory after, and does not cache unknown uids", async () => {
    await redis.hset(LoginKeys.account("c1"), "username", "alice");
    const cache = new UsernameCache(redis);
    expect([...(await cache.lookup(["c1", "c2"]))]).toEqual([["c1", "alice"], ["c2", ""]]);
    expect(cache.size).toBe(1);
    // c1 is served from memory (Redis no longer has it); c2 appears once its account exists
    await redis.del(LoginKeys.account("c1"));
    await redis.hset(LoginKeys.account("c2"), "username", "bob");
    expect([...(await cache.lookup(["c1", "c2"]))]).toEqual([["c1", "alice"], ["c2", "bob"]]);
  });

  it("keeps at most maxSize uids, dropping the oldest", async () => {
    for (const u of ["e1", "e2", "e3"]) await redis.hset(LoginKeys.account(u), "username", `name-${u}`);
    const cache = new UsernameCache(redis, 2);
    await cache.lookup(["e1", "e2", "e3"]);
    expect(cache.size).toBe(2);
    await redis.del(LoginKeys.account("e1"));
    expect((await cache.lookup(["e1"])).get("e1")).toBe("");
    expect(() => new UsernameCache(redis, 0)).toThrow(/integer >= 1/);
  });
});
