import { connect as connectNats, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as connectClient, type Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { services } from "../../src/generated/proto.js";
import { defineModule, type ModuleHost } from "../../src/module/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";

/** What the test module saw: the order handlers started in, and the most running at once. */
const seen = { started: [] as number[], active: 0, maxActive: 0, bySession: new Map<string, number[]>() };
/** While set, Echo handlers wait for it before answering (holds an instance's answers back). */
let gate: Promise<void> | null = null;

/** An "echo" whose Echo handler waits a random 0-15 ms, so two instances would reorder freely. */
const jitteryEcho = defineModule(services.echo, {
  version: "1.0.0",
  handlers: {
    async Echo(ctx, req) {
      seen.started.push(Number(req.text));
      const key = `${ctx.session?.gatewayId}/${ctx.session?.sid}`;
      const mine = seen.bySession.get(key) ?? [];
      mine.push(Number(req.text));
      seen.bySession.set(key, mine);
      seen.active++;
      seen.maxActive = Math.max(seen.maxActive, seen.active);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 16)));
      if (gate !== null) await gate;
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
  /** A plain subscriber to the instance subjects: counts what gateways send straight to an instance. */
  let spy: NatsConnection;
  const direct = { count: 0 };

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
    spy = await connectNats({ servers: cluster.nats.url });
    spy.subscribe("inst.*.Echo", { callback: () => void direct.count++ });
    await spy.flush();
  });

  afterAll(async () => {
    await Promise.allSettled(extra.map((c) => c.close()));
    await spy?.close();
    await unorderedGw?.stop();
    await cluster?.stop();
  });

  it("handles and answers 50 pipelined requests of one session in the order sent (default)", async () => {
    seen.started = [];
    seen.maxActive = 0;
    direct.count = 0;
    const c = await cluster.client();
    const { order, servedBy } = await pipeline(c);
    const expected = Array.from({ length: N }, (_, i) => i);
    expect(seen.started).toEqual(expected);
    expect(order).toEqual(expected);
    expect(seen.maxActive).toBe(1);
    // The first went to the queue group; its answer named the instance and the gateway sent the
    // others straight to it without waiting for each answer (pipelined): one instance took all.
    expect(servedBy.size).toBe(1);
    console.log(`pipelined straight to the instance: ${direct.count} of ${N}`);
    expect(direct.count).toBeGreaterThan(0);
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
    direct.count = 0;
    const c = await connectClient({ ...unorderedGw.address(), heartbeatMs: 0 });
    extra.push(c);
    const { order } = await pipeline(c);
    expect(order.length).toBe(N);
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    // All 50 went out at once (50 < maxInFlightPerSession): many handlers ran concurrently.
    expect(seen.maxActive).toBeGreaterThan(1);
    expect(direct.count).toBe(0); // nothing is pinned to an instance for an unordered module
  });

  /**
   * One session keeps 20 requests in flight (each answer sends the next) for 300 requests; after
   * 40 answers the instance serving it is taken away (`drain()`, or `stop()`, which does not
   * wait for a quiet moment before leaving its instance subject, so pipelined requests bounce
   * and are sent again). Every request must succeed, start and answer in the order sent, and
   * the other instance must take over.
   */
  async function pipelineThroughRemoval(remove: (host: ModuleHost) => Promise<void>): Promise<void> {
    // The spy would count as a responder of the instance subjects: a request to an instance that
    // left would reach the spy instead of bouncing ("no responders").
    await spy.close();
    const total = 300;
    const window = 20;
    const c = await cluster.client();
    const order: number[] = [];
    const servedBy: string[] = [];
    const failures: string[] = [];
    let next = 0;
    let removal: Promise<void> | null = null;
    await new Promise<void>((resolve) => {
      const send = (): void => {
        const i = next++;
        c.request("echo.Echo", { text: String(i) }).then(
          (r) => {
            order.push(Number(r.text));
            servedBy.push(r.servedBy);
            if (order.length === 40) {
              const host = cluster.modules.find((m) => m.instanceId === r.servedBy && m.state === "ready")!;
              removal = remove(host);
            }
            if (next < total) send();
            else if (order.length + failures.length === total) resolve();
          },
          (err: Error) => {
            failures.push(err.message);
            if (order.length + failures.length === total) resolve();
          },
        );
      };
      for (let k = 0; k < window; k++) send();
    });
    await removal;
    expect(failures).toEqual([]);
    const expected = Array.from({ length: total }, (_, i) => i);
    expect(order).toEqual(expected);
    const mine = [...seen.bySession.values()].find((l) => l.length >= total)!;
    expect(mine.filter((n, i) => mine.indexOf(n) === i)).toEqual(expected); // started in order
    expect(new Set(servedBy).size).toBe(2);
    expect(servedBy.at(-1)).not.toBe(servedBy[0]);
  }

  it("keeps a pipelined session's order and loses nothing while its instance drains", async () => {
    seen.bySession.clear();
    seen.maxActive = 0;
    await pipelineThroughRemoval((host) => host.drain());
    expect(seen.maxActive).toBe(1);
  }, 30_000);

  it("sends again, in order, pipelined requests that find their instance gone (stop without a quiet wait)", async () => {
    await cluster.addModule(jitteryEcho);
    seen.bySession.clear();
    seen.maxActive = 0;
    await pipelineThroughRemoval((host) => host.stop());
    expect(seen.maxActive).toBe(1);
  }, 30_000);

  it("sends requests pipelined to an instance that already left again, after the ones it still holds, in order", async () => {
    await cluster.addModule(jitteryEcho);
    const c = await cluster.client();
    const first = await c.request("echo.Echo", { text: "0" });
    const host = cluster.modules.find((m) => m.instanceId === first.servedBy)!;
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    seen.started = [];
    const replies: Promise<{ text: string; servedBy: string }>[] = [];
    // 1 reaches the instance and waits in its handler.
    replies.push(c.request("echo.Echo", { text: "1" }));
    while (!seen.started.includes(1)) await new Promise((r) => setTimeout(r, 5));
    const stopping = host.stop();
    // Until its instance subject has no responders (asked with a method the gate does not hold).
    const nc = await connectNats({ servers: cluster.nats.url });
    for (;;) {
      const gone = await nc.request(`inst.${host.instanceId}.WhoAmI`, new Uint8Array(0), { timeout: 1_000 }).then(
        () => false,
        () => true,
      );
      if (gone) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await nc.close();
    // 2-11 are pipelined to it (its answer to 1 is still out) and bounce: no responders.
    for (let i = 2; i <= 11; i++) replies.push(c.request("echo.Echo", { text: String(i) }));
    await new Promise((r) => setTimeout(r, 100));
    gate = null;
    open();
    const out = await Promise.all(replies);
    await stopping;
    expect(out.map((r) => Number(r.text))).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(out[0]!.servedBy).toBe(host.instanceId);
    // Sent again through the queue group once 1 was answered: another instance took them, in order.
    expect(out.slice(1).every((r) => r.servedBy !== host.instanceId)).toBe(true);
    expect(seen.started.slice(1)).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
  }, 30_000);
});
