import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { WorkerLease, decodeSnowflake, startIdGenerator } from "../../src/ids/index.js";
import { startRedis, type RunningServer } from "../helpers/servers.js";

describe("snowflake worker ids leased in a real Redis", () => {
  let server: RunningServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    redis.on("error", () => undefined);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("concurrent instances get distinct worker ids; a restarted instance does not reuse a live lease", async () => {
    const gens = await Promise.all(Array.from({ length: 20 }, (_, i) => startIdGenerator(redis, `inst-${i % 2}`)));
    expect(new Set(gens.map((g) => g.workerId)).size).toBe(20);
    const ids = gens.flatMap((g) => Array.from({ length: 50 }, () => g.next()));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.map((id) => decodeSnowflake(id)!.workerId).every((w, i) => w === gens[Math.floor(i / 50)]!.workerId)).toBe(true);
    // the same instance id again (a restart while the old lease lives): another worker id
    const restarted = await startIdGenerator(redis, "inst-0");
    expect(gens.map((g) => g.workerId)).not.toContain(restarted.workerId);
    await Promise.all([...gens, restarted].map((g) => g.close()));
    expect(await redis.keys("sy:ids:worker:*")).toEqual([]);
  });

  it("a lease taken over by another process is not renewed, and ids are refused", async () => {
    const lease = await WorkerLease.acquire(redis, { owner: "a", leaseMs: 10_000 });
    await redis.set(`sy:ids:worker:${lease.workerId}`, "someone-else");
    expect(await lease.renew()).toBe(false);
    expect(() => lease.assertHeld()).toThrow(/snowflake worker id \d+ is not confirmed/);
    await lease.release();
    expect(await redis.get(`sy:ids:worker:${lease.workerId}`)).toBe("someone-else");
  });

  it("while Redis is down the lease cannot be confirmed: ids are refused once it may have expired, and resume after", async () => {
    const gen = await startIdGenerator(redis, "cut-off", { leaseMs: 600 });
    gen.next();
    // Redis stays down 2 s, over three lease lengths: while it is down the lease runs out
    // unconfirmed and ids are refused (checked during the outage, not after it, when a renewal
    // may already have confirmed the lease again).
    const outage = server.restart(2_000);
    let refusal: string | null = null;
    const downBy = Date.now() + 1_900;
    while (refusal === null && Date.now() < downBy) {
      try {
        gen.next();
        await new Promise((r) => setTimeout(r, 50));
      } catch (err) {
        refusal = (err as { code?: string }).code ?? "no code";
      }
    }
    expect(refusal).toBe("UNAVAILABLE");
    await outage;
    const deadline = Date.now() + 5_000;
    let issued: string | null = null;
    while (issued === null && Date.now() < deadline) {
      try {
        issued = gen.next();
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(decodeSnowflake(issued ?? "x")?.workerId).toBe(gen.workerId);
    await gen.close();
  });
});
