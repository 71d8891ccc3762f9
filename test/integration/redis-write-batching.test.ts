import type { Redis } from "ioredis";
import { connect as natsConnect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hookEverySend } from "../../src/bus/nats-internals.js";
import { RedisWriteBatch, createRedisClient } from "../../src/redis/index.js";
import { startNats, startRedis, type RunningServer } from "../helpers/servers.js";

/** Bytes the client's socket holds back (corked) right now. */
const corked = (redis: Redis): number => (redis.stream as unknown as { writableCorked: number }).writableCorked;

describe("Redis write batching of a module instance (real redis-server and nats-server)", () => {
  let redisServer: RunningServer;
  let natsServer: RunningServer;
  let redis: Redis;
  let nc: NatsConnection;
  let batch: RedisWriteBatch;

  beforeAll(async () => {
    [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
    redis = createRedisClient({ url: redisServer.url });
    await redis.ping();
    nc = await natsConnect({ servers: natsServer.url });
    batch = new RedisWriteBatch();
    // the hook proves itself on the live connection: "" = on
    expect(await hookEverySend(nc, () => batch.flush())).toBe("");
    batch.attach(redis);
  });

  afterAll(async () => {
    redis?.disconnect();
    await nc?.close();
    await Promise.all([redisServer?.stop(), natsServer?.stop()]);
  });

  it("holds one run's commands in the socket until its end, then every reply matches its call in order", async () => {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) calls.push(i % 2 === 0 ? redis.rpush("order", String(i)) : redis.incr("count"));
    expect(corked(redis)).toBe(1);
    await Promise.resolve();
    // released by the microtask queued with the first command
    expect(corked(redis)).toBe(0);
    const replies = await Promise.all(calls);
    expect(replies.filter((_, i) => i % 2 === 1)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(await redis.lrange("order", 0, -1)).toEqual(Array.from({ length: 150 }, (_, i) => String(i * 2)));
  });

  it("sends the held commands before any NATS message issued after them (publish and respond)", async () => {
    const inResponder: number[] = [];
    const sub = nc.subscribe("batch.check", {
      max: 1,
      callback: (_err, m) => {
        void redis.set("before-respond", "1");
        inResponder.push(corked(redis));
        m.respond(new Uint8Array([1]));
        inResponder.push(corked(redis));
      },
    });
    // a NATS message already waiting for its flush when the Redis write is sent
    nc.publish("batch.other", new Uint8Array([0]));
    void redis.set("before-publish", "1");
    expect(corked(redis)).toBe(1);
    const answer = nc.request("batch.check", new Uint8Array([2]), { timeout: 5_000 });
    expect(corked(redis)).toBe(0);
    await answer;
    expect(inResponder).toEqual([1, 0]);
    expect(await redis.mget("before-publish", "before-respond")).toEqual(["1", "1"]);
    sub.unsubscribe();
  });
});
