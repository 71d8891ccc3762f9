import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SceneDirectory } from "../../modules/scene/scene-directory.js";
import { startRedis, type RunningServer } from "../helpers/servers.js";

describe("scene directory (leases and member records in a real redis-server)", () => {
  let server: RunningServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  it("one owner per scene; a lease that ran out unclaimed is retaken, one another instance took is reported lost", async () => {
    const a = new SceneDirectory(redis, "scene-a", 60_000);
    const b = new SceneDirectory(redis, "scene-b", 60_000);
    expect(await a.claim("s1")).toEqual({ owner: "scene-a", stale: [] });
    expect(await b.claim("s1")).toEqual({ owner: "scene-a", stale: [] });
    await a.join("s1", "u1", { gatewayId: "gw-1", sid: 7, uid: "u1" });

    await redis.del("scene:owner:s1"); // the lease ran out (a late renewal), nobody took it
    expect(await a.renew(["s1"])).toEqual([]);
    expect(await a.owner("s1")).toBe("scene-a");
    expect(await b.orphans()).toEqual([]);

    await redis.del("scene:owner:s1");
    expect(await b.orphans()).toEqual(["s1"]);
    expect(await b.claim("s1")).toEqual({ owner: "scene-b", stale: [{ uid: "u1", session: { gatewayId: "gw-1", sid: 7, uid: "u1" } }] });
    expect(await b.sceneOf("u1")).toBeNull(); // the stale player's record went with the takeover
    expect(await a.renew(["s1"])).toEqual(["s1"]);
  });

  it("a player is in one scene at a time, unless the other scene's owner is gone", async () => {
    const a = new SceneDirectory(redis, "scene-a", 60_000);
    const session = { gatewayId: "gw-1", sid: 1, uid: "u2" };
    await a.claim("s2");
    expect(await a.join("s2", "u2", session)).toBeNull();
    await a.claim("s3");
    expect(await a.join("s3", "u2", session)).toBe("s2");
    await redis.del("scene:owner:s2");
    expect(await a.join("s3", "u2", session)).toBeNull();
    expect(await a.sceneOf("u2")).toBe("s3");
    await a.leave("s3", "u2");
    expect(await a.sceneOf("u2")).toBeNull();
  });
});
