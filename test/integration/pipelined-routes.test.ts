import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { services } from "../../src/generated/proto.js";
import { defineModule } from "../../src/module/index.js";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { createRedisClient } from "../../src/redis/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";

/** What the module saw, per request tag: start and end, in the order they happened. */
const events: string[] = [];
const state = { active: 0, maxActive: 0 };
const LIST = "test:pipelined:applied";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Echo is pipelined: it sends its Redis command (RPUSH of its text) before its first await, then
 * takes a random 0-15 ms, so replies would come back out of order if nothing held them. Sleep is
 * not pipelined: it must run alone in its session. Echo with text "throw" fails synchronously.
 */
const pipelinedEcho = defineModule(services.echo, {
  version: "1.0.0",
  pipelined: ["Echo"],
  onStart(rt) {
    return { redis: rt.redis() };
  },
  handlers: {
    Echo(ctx, req) {
      if (req.text === "throw") throw new SwitchyardError("BAD_REQUEST", "asked to fail");
      const applied = ctx.state.redis.rpush(LIST, req.text);
      events.push(`start ${req.text}`);
      state.active++;
      state.maxActive = Math.max(state.maxActive, state.active);
      return (async () => {
        await sleep(Math.floor(Math.random() * 16));
        await applied;
        state.active--;
        events.push(`end ${req.text}`);
        return { text: req.text, servedBy: ctx.module.instanceId };
      })();
    },
    async Sleep(_ctx, req) {
      events.push(`start s${req.ms}`);
      state.active++;
      await sleep(5);
      state.active--;
      events.push(`end s${req.ms}`);
      return { text: `s${req.ms}` };
    },
    WhoAmI() {
      return {};
    },
  },
});

describe("pipelined routes (real nats-server and redis-server): a session's requests overlap, order holds", () => {
  let cluster: TestCluster;
  let c: Client;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [{ def: pipelinedEcho, instances: 1 }],
      // echo is ordered here (the test config opts it out by default).
      config: { gateway: { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo", "echo.Sleep"] }, modules: { echo: { instances: 1 } } },
    });
    c = await cluster.client();
  });

  afterAll(async () => {
    await c?.close();
    await cluster?.stop();
  });

  it("runs 50 pipelined requests of one session side by side, applies them in Redis and answers them in the order sent", async () => {
    events.length = 0;
    state.maxActive = 0;
    const answered: string[] = [];
    await Promise.all(Array.from({ length: 50 }, (_, i) => c.request("echo.Echo", { text: String(i) }).then((r) => answered.push(r.text))));
    const sent = Array.from({ length: 50 }, (_, i) => String(i));
    expect(answered).toEqual(sent);
    const redis = createRedisClient({ url: cluster.redis.url });
    try {
      expect(await redis.lrange(LIST, 0, -1)).toEqual(sent);
    } finally {
      redis.disconnect();
    }
    expect(events.filter((e) => e.startsWith("start")).map((e) => e.slice(6))).toEqual(sent);
    // They did overlap (the gateway pipelines them to the instance, which no longer runs them one by one).
    expect(state.maxActive).toBeGreaterThan(1);
  });

  it("a request of a route that is not pipelined runs alone: after every earlier one ended, before any later one starts", async () => {
    events.length = 0;
    const answered: string[] = [];
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) calls.push(c.request("echo.Echo", { text: `a${i}` }).then((r) => answered.push(r.text)));
    calls.push(c.request("echo.Sleep", { ms: 1 }).then((r) => answered.push(r.text)));
    for (let i = 0; i < 5; i++) calls.push(c.request("echo.Echo", { text: `b${i}` }).then((r) => answered.push(r.text)));
    await Promise.all(calls);
    expect(answered).toEqual(["a0", "a1", "a2", "a3", "a4", "s1", "b0", "b1", "b2", "b3", "b4"]);
    const at = (e: string): number => events.indexOf(e);
    for (let i = 0; i < 5; i++) {
      expect(at(`end a${i}`)).toBeLessThan(at("start s1"));
      expect(at(`start b${i}`)).toBeGreaterThan(at("end s1"));
    }
  });

  it("a pipelined request that fails at once is answered in its place, after the earlier ones", async () => {
    const settled: string[] = [];
    const calls = [
      c.request("echo.Echo", { text: "first" }).then((r) => settled.push(r.text)),
      c.request("echo.Echo", { text: "throw" }).then(
        () => settled.push("throw answered"),
        (err: unknown) => settled.push(err instanceof SwitchyardError ? err.code : String(err)),
      ),
      c.request("echo.Echo", { text: "last" }).then((r) => settled.push(r.text)),
    ];
    await Promise.all(calls);
    expect(settled).toEqual(["first", "BAD_REQUEST", "last"]);
  });
});
