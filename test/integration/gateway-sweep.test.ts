import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, ErrorCode as NatsErrorCode, NatsError, type NatsConnection, type Subscription } from "nats";
import { Redis } from "ioredis";
import { gatewayCommandSubject } from "../../src/bus/subjects.js";
import type { cluster } from "../../src/generated/proto.js";
import { createLogger } from "../../src/log/logger.js";
import { DEAD_CONFIRM_MS, GatewaySweeper, OnlineTable, SILENT_RELEASE_MS, type PingOutcome, type SweepActions } from "../../src/module/index.js";
import { loadProto } from "../../src/proto/registry.js";
import { startNats, startRedis, type RunningServer } from "../helpers/servers.js";

interface Released {
  gatewayId: string;
  sid: number;
  uid: string;
  reason: string;
}

const proto = loadProto();
const ackCodec = proto.message<cluster.CommandAck>("cluster.CommandAck");
const commandCodec = proto.message<cluster.GatewayCommand>("cluster.GatewayCommand");

describe("GatewaySweeper against real nats-server and redis-server", () => {
  let nats: RunningServer;
  let redisServer: RunningServer;
  let nc: NatsConnection;
  let redis: Redis;
  const subs: Subscription[] = [];
  /** Pings each fake gateway received. */
  const pings = new Map<string, number>();

  /** A fake gateway on gw.<id>.cmd: answers pings with `startedAt`, or never (`answer` false). */
  function fakeGateway(id: string, startedAt: number, answer: () => boolean = () => true): Subscription {
    return subs[subs.push(
      nc.subscribe(gatewayCommandSubject(id), {
        callback: (_err, msg) => {
          if (commandCodec.decode(msg.data).ping === null) return;
          pings.set(id, (pings.get(id) ?? 0) + 1);
          if (answer()) msg.respond(ackCodec.encode({ ok: true, error: "", resumeCode: 0, replayed: 0, startedAt }));
        },
      }),
    ) - 1]!;
  }

  /** The sweeper's NATS side as the runtime does it (gw.<id>.cmd ping), no gateway adopting. */
  function actions(released: Released[]): SweepActions {
    return {
      async ping(gatewayId): Promise<PingOutcome> {
        try {
          const m = await nc.request(gatewayCommandSubject(gatewayId), commandCodec.encode({ ping: {} }), { timeout: 300 });
          return { startedAt: ackCodec.decode(m.data).startedAt };
        } catch (err) {
          return err instanceof NatsError && err.code === NatsErrorCode.NoResponders ? "no-responders" : "timeout";
        }
      },
      adopt: async () => "none",
      announce: (s, reason) => released.push({ ...s, reason }),
    };
  }

  beforeAll(async () => {
    [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
    nc = await connect({ servers: nats.url });
    redis = new Redis(redisServer.url);
  });

  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    redis?.disconnect();
    await nc?.close();
    await Promise.allSettled([nats?.stop(), redisServer?.stop()]);
  });

  it("one lease holder pings; dead after two no-responders 1 s apart, a never-answering subscriber after 4 s, a restarted gateway's old sessions at once, a slow one never", async () => {
    const table = new OnlineTable(redis);
    await table.claim("u-live", { gatewayId: "gw-live", sid: 1 });
    await table.claim("u-dead-1", { gatewayId: "gw-dead", sid: 1 });
    await table.claim("u-dead-2", { gatewayId: "gw-dead", sid: 2 });
    await table.claim("u-old", { gatewayId: "gw-restarted", sid: 7 });
    await table.claim("u-mute", { gatewayId: "gw-mute", sid: 1 });
    await table.claim("u-slow", { gatewayId: "gw-slow", sid: 1 });
    // u-moved was on gw-dead and logged in again on gw-live: not an orphan of gw-dead.
    await table.claim("u-moved", { gatewayId: "gw-dead", sid: 3 });
    await table.claim("u-moved", { gatewayId: "gw-live", sid: 2 });
    fakeGateway("gw-live", Date.now() - 60_000);
    // gw-restarted's current process started after u-old's claim (a crash and a restart)
    fakeGateway("gw-restarted", Date.now() + 5_000);
    fakeGateway("gw-mute", 0, () => false);
    let slowAnswers = true;
    const slow = fakeGateway("gw-slow", Date.now() - 60_000, () => slowAnswers);

    const released: Released[] = [];
    const log = createLogger("test", "sweep", "silent");
    const holder = new GatewaySweeper("mod-a", () => table, actions(released), log);
    const other = new GatewaySweeper("mod-b", () => table, actions(released), log);
    const t0 = Date.now();
    expect(await holder.sweep(t0)).toBe(true);
    expect(await other.sweep(t0)).toBe(false);
    expect(pings.get("gw-live")).toBe(1);
    expect(released).toEqual([{ gatewayId: "gw-restarted", sid: 7, uid: "u-old", reason: "gateway gw-restarted restarted: the session belonged to its previous process" }]);
    expect(await table.lookup("u-dead-1")).toEqual({ gatewayId: "gw-dead", sid: 1 });

    // One no-responders is not enough, nor two closer than DEAD_CONFIRM_MS; the slow one stops answering.
    slowAnswers = false;
    await holder.sweep(t0 + DEAD_CONFIRM_MS - 1);
    expect(released).toHaveLength(1);

    await holder.sweep(t0 + DEAD_CONFIRM_MS);
    const dead = released.slice(1).sort((a, b) => a.sid - b.sid);
    expect(dead.map((o) => [o.gatewayId, o.sid, o.uid])).toEqual([
      ["gw-dead", 1, "u-dead-1"],
      ["gw-dead", 2, "u-dead-2"],
    ]);
    for (const o of dead) expect(o.reason).toBe(`gateway gw-dead is gone: no responders for ${DEAD_CONFIRM_MS} ms`);

    // gw-mute never answered: released after SILENT_RELEASE_MS; gw-slow answered once: kept.
    await holder.sweep(t0 + SILENT_RELEASE_MS - 1);
    expect(released).toHaveLength(3);
    await holder.sweep(t0 + SILENT_RELEASE_MS + 1);
    expect(released.slice(3).map((o) => [o.gatewayId, o.uid])).toEqual([["gw-mute", "u-mute"]]);
    await holder.sweep(t0 + 60_000);
    expect(released).toHaveLength(4);

    expect(await table.lookupMany(["u-dead-1", "u-dead-2", "u-old", "u-mute", "u-live", "u-moved", "u-slow"])).toEqual([
      null,
      null,
      null,
      null,
      { gatewayId: "gw-live", sid: 1 },
      { gatewayId: "gw-live", sid: 2 },
      { gatewayId: "gw-slow", sid: 1 },
    ]);
    expect((await table.gatewaysWithSessions()).sort()).toEqual(["gw-live", "gw-restarted", "gw-slow"]);
    // a dead gateway whose pings went straight to "no responders" (a process kill) is not marked
    expect(await table.pushesLost("gw-dead")).toBe(false);
    // gw-slow's host is lost: its pings timed out, then nats-server dropped it (no responders).
    // What was published to it meanwhile got no "no responders": marked lost (its resumes: RESYNC).
    slow.unsubscribe();
    await holder.sweep(t0 + 61_000);
    await holder.sweep(t0 + 61_000 + DEAD_CONFIRM_MS);
    expect(released.slice(4).map((o) => [o.gatewayId, o.uid])).toEqual([["gw-slow", "u-slow"]]);
    expect(await table.pushesLost("gw-slow")).toBe(true);
    // the other instance never pinged: one sweeper for the cluster
    expect(await other.sweep(t0 + 60_000)).toBe(false);
    // after the holder's lease lapses the other one takes over
    await redis.del("sy:{online}:sweeper");
    expect(await other.sweep(t0 + 61_000)).toBe(true);
  }, 20_000);

  it("a ping that timed out only because the sweeping process stalled marks nothing: the death after it is not taken for a lingering one", async () => {
    const table = new OnlineTable(redis);
    await redis.del("sy:{online}:sweeper");
    await table.claim("u-stall", { gatewayId: "gw-stall", sid: 1 });
    await table.claim("u-late", { gatewayId: "gw-late", sid: 1 });
    const up = { startedAt: Date.now() - 60_000 };
    // gw-stall: a "stalled" ping (this process was held up); gw-late: a real timeout (the gateway was silent)
    const script = new Map<string, PingOutcome[]>([
      ["gw-stall", [up, "stalled", "no-responders", "no-responders"]],
      ["gw-late", [up, "timeout", "no-responders", "no-responders"]],
    ]);
    const released: Released[] = [];
    const sweeper = new GatewaySweeper("mod-c", () => table, { ...actions(released), ping: async (gw) => script.get(gw)?.shift() ?? "stalled" }, createLogger("test", "sweep", "silent"));
    const t0 = Date.now();
    for (const t of [t0, t0 + 1_000, t0 + 2_000, t0 + 2_000 + DEAD_CONFIRM_MS]) expect(await sweeper.sweep(t)).toBe(true);
    expect(released.map((r) => r.uid).sort()).toEqual(["u-late", "u-stall"]);
    expect(await table.pushesLost("gw-stall")).toBe(false);
    expect(await table.pushesLost("gw-late")).toBe(true);
  });
});
