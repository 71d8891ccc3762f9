import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as connectClient, type Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { services } from "../../src/generated/proto.js";
import { defineModule } from "../../src/module/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";

/** What the test module saw: the order handlers started in, and the most running at once. */
const seen = { started: [] as number[], active: 0, maxActive: 0 };

/** An "echo" whose Echo handler waits a random 0-15 ms, so two instances would reorder freely. */
const jitteryEcho = defineModule(services.echo, {
  version: "1.0.0",
  handlers: {
    async Echo(ctx, req) {
      seen.started.push(Number(req.text));
      seen.active++;
      seen.maxActive = Math.max(seen.maxActive, seen.active);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 16)));
      seen.active--;
      return { text: req.text, servedBy: ctx.module.instanceId };
    },
    Sleep() {
      return {};
    },
    WhoAmI() {
      return {};
    },
  },
});

const N = 50;

/** Sends N pipelined echo.Echo requests; returns the texts in the order the replies arrived. */
async function pipeline(c: Client): Promise<{ order: number[]; servedBy: Set<string> }> {
  const order: number[] = [];
  const servedBy = new Set<string>();
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      c.request("echo.Echo", { text: String(i) }).then((r) => {
        order.push(Number(r.text));
        servedBy.add(r.servedBy);
      }),
    ),
  );
  return { order, servedBy };
}

describe("per-session ordering (real nats-server, 2 module instances)", () => {
  let cluster: TestCluster;
  let unorderedGw: Gateway;
  const extra: Client[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [{ def: jitteryEcho, instances: 2 }],
      // echo is ordered here (the test config opts it out by default).
      config: { gateway: { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo"] }, modules: { echo: { instances: 2 } } },
    });
    // A second gateway on the same NATS, for a config where echo says `ordered: false`.
    unorderedGw = await createGateway({
      id: "gw-unordered",
      port: 0,
      settings: cluster.config.gateway,
      nats: cluster.config.nats,
      logger: createLogger("gateway", "gw-unordered", cluster.config.log.level),
      announce: false,
      unorderedModules: ["echo"],
    });
  });

  afterAll(async () => {
    await Promise.allSettled(extra.map((c) => c.close()));
    await unorderedGw?.stop();
    await cluster?.stop();
  });

  it("handles and answers 50 pipelined requests of one session in the order sent (default)", async () => {
    seen.started = [];
    seen.maxActive = 0;
    const c = await cluster.client();
    const { order, servedBy } = await pipeline(c);
    const expected = Array.from({ length: N }, (_, i) => i);
    expect(seen.started).toEqual(expected);
    expect(order).toEqual(expected);
    expect(seen.maxActive).toBe(1);
    expect(servedBy.size).toBe(2); // both instances took part, yet nothing was reordered
  });

  it("keeps sessions independent: two sessions pipelining at once each get their own order", async () => {
    seen.maxActive = 0;
    const [a, b] = await Promise.all([cluster.client(), cluster.client()]);
    const [ra, rb] = await Promise.all([pipeline(a), pipeline(b)]);
    const expected = Array.from({ length: N }, (_, i) => i);
    expect(ra.order).toEqual(expected);
    expect(rb.order).toEqual(expected);
    // One request per session at a time, but the two sessions do run side by side.
    expect(seen.maxActive).toBeLessThanOrEqual(2);
  });

  it("does not force the order for a module with ordered: false", async () => {
    seen.started = [];
    seen.maxActive = 0;
    const c = await connectClient({ ...unorderedGw.address(), heartbeatMs: 0 });
    extra.push(c);
    const { order } = await pipeline(c);
    expect(order.length).toBe(N);
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    // All 50 went out at once (50 < maxInFlightPerSession): many handlers ran concurrently.
    expect(seen.maxActive).toBeGreaterThan(1);
  });
});
