import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SwitchyardError, type Client } from "../../src/client/index.js";
import { createRedisClient } from "../../src/redis/index.js";
import type { RedisSentinelGroup } from "../../src/testing/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { failure } from "../helpers/failure.js";
import loginModule from "../../modules/login/index.js";
import rankModule from "../../modules/rank/index.js";

const BOARD = "fo";
const BOARDS = { [BOARD]: { policy: "best", clientSubmit: { min: 0, max: 2 ** 53 } } };
const PASSWORD = "password-1";
const RETRY_PAUSE_MS = 20;

/** One request the load made: which route, when it started and ended, and how it ended. */
interface Outcome {
  route: string;
  startedAt: number;
  endedAt: number;
  code: string | null;
  message?: string;
}

/** Calls made by load loops until stopped; `reached` resolves when a condition over the outcomes holds. */
class LoadRecorder {
  readonly outcomes: Outcome[] = [];
  stopping = false;
  private waiters: { cond: () => boolean; resolve: () => void }[] = [];

  async call<T>(route: string, run: () => Promise<T>): Promise<T | null> {
    const startedAt = performance.now();
    try {
      const out = await run();
      this.record({ route, startedAt, endedAt: performance.now(), code: null });
      return out;
    } catch (err) {
      if (!(err instanceof SwitchyardError)) throw err;
      this.record({ route, startedAt, endedAt: performance.now(), code: err.code, message: err.message });
      // A client pauses before its next try; refusals come back at once and would spin the loop.
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      return null;
    }
  }

  reached(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ cond, resolve }));
  }

  private record(o: Outcome): void {
    this.outcomes.push(o);
    this.waiters = this.waiters.filter((w) => {
      if (!w.cond()) return true;
      w.resolve();
      return false;
    });
  }
}

/** `calls` of a command on the Redis node behind `redis` (INFO commandstats). */
async function commandCalls(redis: Redis, command: string): Promise<number> {
  const stats = await redis.info("commandstats");
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(stats);
  return m ? Number(m[1]) : 0;
}

describe("Redis failover with Sentinel (primary, 1 replica, 3 sentinels): kill -9 of the primary under load", () => {
  let cluster: TestCluster;
  let group: RedisSentinelGroup;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 1 },
        { def: rankModule, instances: 1 },
      ],
      config: { modules: { login: { instances: 1, settings: { scryptN: 1024 } }, rank: { instances: 1, settings: { boards: BOARDS } } } },
      redisSentinel: { replicas: 1, sentinels: 3, downAfterMs: 1_000 },
    });
    group = cluster.redisGroup!;
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("a request that wrote is answered after one WAIT for the replica; reads send no WAIT", async () => {
    const { client } = await cluster.loggedInClient("wait-probe");
    const primary = createRedisClient(cluster.config.redis);
    try {
      const before = await commandCalls(primary, "wait");
      for (let i = 0; i < 20; i++) await client.request("rank.Top", { board: BOARD, n: 5 });
      expect(await commandCalls(primary, "wait")).toBe(before);
      await client.request("rank.Submit", { board: BOARD, score: 1 });
      expect(await commandCalls(primary, "wait")).toBe(before + 1);
    } finally {
      primary.disconnect();
    }
  });

  it("keeps serving through the promotion with the same module instances; every acknowledged Register logs in, every acknowledged score is on the board", { timeout: 90_000 }, async () => {
    const hostsBefore = [...cluster.modules];
    const idsBefore = hostsBefore.map((m) => m.instanceId);
    const load = new LoadRecorder();
    const registered: { username: string; uid: string }[] = [];

    const writers: Client[] = await Promise.all(Array.from({ length: 4 }, () => cluster.client()));
    const players = await Promise.all(Array.from({ length: 4 }, (_, i) => cluster.loggedInClient(`fo-player-${i}`)));
    const lastAcked = players.map(() => 0);
    const lastSent = players.map(() => 0);

    const writerLoop = async (c: Client, w: number): Promise<void> => {
      for (let n = 0; !load.stopping; n++) {
        const username = `fo-${w}-${n}`;
        const r = await load.call("login.Register", () => c.request("login.Register", { username, password: PASSWORD }));
        if (r !== null) registered.push({ username, uid: r.uid });
      }
    };
    const playerLoop = async (c: Client, p: number): Promise<void> => {
      while (!load.stopping) {
        const score = ++lastSent[p]!;
        if ((await load.call("rank.Submit", () => c.request("rank.Submit", { board: BOARD, score }))) !== null) lastAcked[p] = score;
        await load.call("rank.Top", () => c.request("rank.Top", { board: BOARD, n: 5 }));
      }
    };
    const loops = [...writers.map((c, w) => writerLoop(c, w)), ...players.map((p, i) => playerLoop(p.client, i))];
    const succeededAfter = (route: string, t: number, count = 1): boolean => load.outcomes.filter((o) => o.route === route && o.code === null && o.startedAt > t).length >= count;

    await load.reached(() => registered.length >= 40 && succeededAfter("rank.Submit", 0, 40));
    const oldPort = group.nodes[0]!.port;
    expect(await group.primaryPort()).toBe(oldPort);
    const killedAt = performance.now();
    group.nodes[0]!.process.kill("SIGKILL");

    await group.waitForPromotion(oldPort, 0, 30_000);
    const promotedAt = performance.now();
    // The new primary has no replica: it refuses writes (min-replicas-to-write 1), serves reads.
    await load.reached(() => succeededAfter("rank.Top", promotedAt, 10));
    const readsServedAt = performance.now();

    // The killed node comes back (as systemd or an operator would restart it) as a replica of the
    // new primary, and writes are confirmed again.
    await group.restartAsReplica(0);
    await group.waitForReplicas(1, 30_000);
    const rejoinedAt = performance.now();
    await load.reached(() => ["login.Register", "rank.Submit", "rank.Top"].every((r) => succeededAfter(r, rejoinedAt, 20)));
    load.stopping = true;
    await Promise.all(loops);

    const failed = load.outcomes.filter((o) => o.code !== null);
    const byRouteAndCode = new Map<string, number>();
    for (const o of failed) byRouteAndCode.set(`${o.route} ${o.code}`, (byRouteAndCode.get(`${o.route} ${o.code}`) ?? 0) + 1);
    const firstOk = (route: string): number => Math.min(...load.outcomes.filter((o) => o.route === route && o.code === null && o.startedAt > killedAt).map((o) => o.endedAt));
    console.log(
      [
        `redis failover: ${load.outcomes.length} requests, ${failed.length} failed (${[...byRouteAndCode].map(([k, n]) => `${k}: ${n}`).join(", ")})`,
        `  kill -9 -> sentinels name the new primary: ${(promotedAt - killedAt).toFixed(0)} ms`,
        `  kill -9 -> first rank.Top answered: ${(firstOk("rank.Top") - killedAt).toFixed(0)} ms (10 reads served after the promotion at ${(readsServedAt - killedAt).toFixed(0)} ms)`,
        `  kill -9 -> old primary restarted and online as a replica: ${(rejoinedAt - killedAt).toFixed(0)} ms`,
        `  kill -9 -> first write acknowledged: Register ${(firstOk("login.Register") - killedAt).toFixed(0)} ms, Submit ${(firstOk("rank.Submit") - killedAt).toFixed(0)} ms`,
        `  acknowledged before the end: ${registered.length} registrations, scores ${lastAcked.join(", ")}`,
      ].join("\n"),
    );

    // Failures only from the kill (requests in flight then) until the replica is back, all of
    // them UNAVAILABLE (retry later); reads fail only until the promotion.
    expect(failed.filter((o) => o.endedAt < killedAt)).toEqual([]);
    expect(failed.filter((o) => o.startedAt > rejoinedAt)).toEqual([]);
    expect(new Set(failed.map((o) => o.code))).toEqual(new Set(failed.length > 0 ? ["UNAVAILABLE"] : []));
    expect(failed.filter((o) => o.route === "rank.Top" && o.startedAt > promotedAt)).toEqual([]);

    // The same instances served throughout: none was restarted or replaced.
    expect(cluster.modules).toEqual(hostsBefore);
    expect(cluster.modules.map((m) => m.instanceId)).toEqual(idsBefore);
    expect(cluster.modules.map((m) => m.state)).toEqual(hostsBefore.map(() => "ready"));

    // No acknowledged write was lost: every answered Register logs in as the same uid ...
    const checkers = await Promise.all(Array.from({ length: 4 }, () => cluster.client()));
    const uids = await Promise.all(
      registered.map((r, i) => checkers[i % checkers.length]!.request("login.Login", { username: r.username, password: PASSWORD }).then((l) => l.uid)),
    );
    expect(uids).toEqual(registered.map((r) => r.uid));
    // ... and every player's board score is at least the last acknowledged one (a refused
    // Submit may still have been applied: never more than the last one sent).
    for (const [i, p] of players.entries()) {
      const me = await p.client.request("rank.Me", { board: BOARD });
      expect(me.score).toBeGreaterThanOrEqual(lastAcked[i]!);
      expect(me.score).toBeLessThanOrEqual(lastSent[i]!);
    }
  });

  it("a write no replica confirms within redis.confirmTimeoutMs is answered UNAVAILABLE, never acknowledged; confirmed writes go on once the replica answers", { timeout: 30_000 }, async () => {
    const c = await cluster.client();
    await c.request("login.Register", { username: "confirmed-1", password: PASSWORD });
    const primaryPort = await group.primaryPort();
    const replica = group.nodes.find((n) => n.port !== primaryPort)!;
    replica.process.kill("SIGSTOP");
    try {
      const refused = await failure(c.request("login.Register", { username: "unconfirmed-1", password: PASSWORD }));
      expect(refused.code).toBe("UNAVAILABLE");
      expect(refused.message).toContain("0 of 1 replicas confirmed the writes within 1000 ms");
    } finally {
      replica.process.kill("SIGCONT");
    }
    await c.request("login.Register", { username: "confirmed-2", password: PASSWORD });
    for (const username of ["confirmed-1", "confirmed-2"]) {
      expect((await c.request("login.Login", { username, password: PASSWORD })).uid).not.toBe("");
    }
  });
});
