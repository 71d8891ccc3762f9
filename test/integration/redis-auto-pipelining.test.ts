import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineDeclaredRedisCommands, defineRedisCommand } from "../../src/module/redis-command.js";
import { createRedisClient } from "../../src/redis/index.js";
import { startRedis, type RunningServer } from "../helpers/servers.js";

// KEYS: one counter. ARGV: a tag. Returns {tag, new count}: each reply tells which call it answers.
const EARLY = defineRedisCommand<[key: string], [tag: string], [string, number]>({
  name: "testAutoPipeEarly",
  numberOfKeys: 1,
  lua: "return {ARGV[1], redis.call('INCR', KEYS[1])}",
});

describe("Redis clients with auto-pipelining (real redis-server)", () => {
  let server: RunningServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = createRedisClient({ url: server.url }, { autoPipelining: true });
    defineDeclaredRedisCommands(redis);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("sends one turn's commands as one pipeline and matches every reply to its call", async () => {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      calls.push(i % 3 === 0 ? redis.set(`k${i}`, String(i)) : i % 3 === 1 ? EARLY.run(redis, ["early"], [`t${i}`]) : redis.incr("plain"));
    }
    // Nothing has gone out yet: the commands wait in the turn's pipeline.
    expect(redis.autoPipelineQueueSize).toBeGreaterThan(0);
    const replies = await Promise.all(calls);
    const tags = replies.filter((r): r is [string, number] => Array.isArray(r)).map((r) => r[0]);
    expect(tags).toEqual(Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 3 === 1).map((i) => `t${i}`));
    expect(await redis.get("early")).toBe("67");
    expect(await redis.get("plain")).toBe("66");
  });

  it("runs a script declared after the client was made, even behind a pipeline that predates it", async () => {
    const before = [redis.incr("late-count"), EARLY.run(redis, ["early2"], ["a"])];
    // Declared and first run while the pipeline above is still pending (it lacks the command).
    const LATE = defineRedisCommand<[key: string], [tag: string], [string, number]>({
      name: "testAutoPipeLate",
      numberOfKeys: 1,
      lua: "return {ARGV[1], redis.call('INCR', KEYS[1])}",
    });
    const late = Array.from({ length: 20 }, (_, i) => LATE.run(redis, ["late"], [`l${i}`]));
    const after = [redis.incr("late-count")];
    const out = await Promise.all([...before, ...late, ...after]);
    expect(out[0]).toBe(1);
    expect(out[1]).toEqual(["a", 1]);
    expect(out.slice(2, 22)).toEqual(Array.from({ length: 20 }, (_, i) => [`l${i}`, i + 1]));
    expect(out[22]).toBe(2);
    // Later turns call it by its SHA in the pipeline like any other command.
    expect(await LATE.run(redis, ["late"], ["z"])).toEqual(["z", 21]);
  });
});
