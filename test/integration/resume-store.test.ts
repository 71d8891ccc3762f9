import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResumeStore } from "../../src/gateway/resume-store.js";
import { createLogger } from "../../src/log/logger.js";
import { MAX_RECENT_PUBS, PacketKind, encodeChannelPush, encodeFrame, stampSeq } from "../../src/protocol/packet.js";
import { ChannelLogWriter } from "../../src/redis/channel-log.js";
import { loadProto } from "../../src/proto/registry.js";
import type { cluster } from "../../src/generated/proto.js";
import { startRedis, type RunningServer } from "../helpers/servers.js";

const OK = 0;
const RESYNC = 11;
const NONE = { channels: [], pins: [] };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("ResumeStore on a real redis-server: what an away uid keeps and what a resume gets", () => {
  let server: RunningServer;
  let redis: Redis;
  let n = 0;
  const push = (seq: number, bytes = 10): Buffer => stampSeq(encodeFrame(PacketKind.PUSH, 0, "t.P", Buffer.alloc(bytes, seq)), seq);
  const channelCodec = loadProto().message<cluster.ChannelMessage>("cluster.ChannelMessage");
  const store = (limits: Partial<ConstructorParameters<typeof ResumeStore>[1]> = {}): ResumeStore =>
    new ResumeStore(redis, { windowMs: 10_000, maxPushes: 100, maxBytes: 1 << 20, recentPushes: 8, ...limits }, channelCodec, createLogger("test", "resume-store", "silent"));
  const raw = (i: number): Buffer => encodeFrame(PacketKind.PUSH, 0, "t.P", Buffer.alloc(10, i));
  let published = 0;
  const logWriter = new ChannelLogWriter(() => redis, { maxEntries: 100, windowMs: 10_000 }, (err) => {
    throw err;
  });
  /** Publishes into a channel's log as a module does; the frame a member gets for it. */
  const publish = (channel: string, i: number, excludeUids: string[] = []): { id: string; frame: Buffer } => {
    const id = `test.${++published}`;
    const body = Buffer.alloc(6, i);
    logWriter.append(channel, channelCodec.encode({ route: "t.C", body, excludeUids, id }));
    return { id, frame: encodeChannelPush("t.C", body, id) };
  };

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("after a gateway death: an adopted connected uid is renumbered after the client's last_seq; lost pending pushes past the bound answer RESYNC", async () => {
    const s = store();
    // connected at the death, adopted: kept as 1..3, the client had seen up to 7 from the dead gateway
    const connected = `u${++n}`;
    const found = await s.peek(connected);
    expect(found).toEqual({ away: null, connected: null });
    const { away } = s.adopt(connected, found, NONE, [], false, Date.now(), "gw-dead", 0);
    for (let i = 1; i <= 3; i++) s.keep(connected, away, i, stampSeq(raw(i), i));
    await s.flushed();
    const got = await s.take(connected, 7);
    expect({ code: got.code, seq: got.seq, adoptedFrom: got.adoptedFrom }).toEqual({ code: OK, seq: 10, adoptedFrom: "gw-dead" });
    expect(got.frames).toEqual([stampSeq(raw(1), 8), stampSeq(raw(2), 9), stampSeq(raw(3), 10)]);

    // incomplete (a pinned session, pending pushes over the bound): RESYNC, the membership restored
    const pinned = `u${++n}`;
    s.keepMembership(pinned, { channels: [], pins: [["game", "game-1"]] }, null);
    await s.flushed();
    const foundPinned = await s.peek(pinned);
    expect(foundPinned.connected).toEqual({ channels: [], pins: [["game", "game-1"]] });
    s.adopt(pinned, foundPinned, foundPinned.connected!, [], true, Date.now(), "gw-dead", 0);
    await s.flushed();
    expect(await s.take(pinned, 4)).toMatchObject({ code: RESYNC, pins: [["game", "game-1"]] });

    // resumed before any adoption (Bind.previous_lost): nothing stored, the pending pushes follow last_seq
    const early = `u${++n}`;
    const lost = { frames: [raw(1), raw(2)], overflow: false };
    const e = await s.take(early, 5, lost);
    expect({ code: e.code, seq: e.seq, frames: e.frames }).toEqual({ code: OK, seq: 7, frames: [stampSeq(raw(1), 6), stampSeq(raw(2), 7)] });
    expect((await s.take(`u${++n}`, 5, { frames: [raw(1)], overflow: true })).code).toBe(RESYNC);
  });

  it("a dead gateway's channel members get the channel's logged publications they lack, once, in order; without their list, RESYNC", async () => {
    const s = store();
    const channel = `room-${++n}`;
    const member = `u${++n}`;
    const other = `u${++n}`;
    const p1 = publish(channel, 1);
    await sleep(20);
    const cut = Date.now();
    await sleep(5);
    const p2 = publish(channel, 2);
    const p9 = publish(channel, 9, [member]); // excluded: never for the member
    const p3 = publish(channel, 3);
    await s.flushed();
    s.keepMembership(member, { channels: [channel], pins: [] }, null);
    await s.flushed();

    // adopted while connected: the publications since the cut are candidates
    const adopt = async (uid: string): Promise<void> => {
      const found = await s.peek(uid);
      const m = found.connected ?? NONE;
      const logged = await s.logged(uid, m.channels, cut, new Set());
      s.adopt(uid, found, m, logged, false, Date.now(), "gw-dead", 0);
      await s.flushed();
    };
    await adopt(member);
    // the client had p1 and p2 from the dead gateway (its last seq 5): p3 alone follows
    const got = await s.take(member, 5, null, [p1.id, p2.id]);
    expect({ code: got.code, seq: got.seq, channels: got.channels }).toEqual({ code: OK, seq: 6, channels: [channel] });
    expect(got.frames).toEqual([stampSeq(p3.frame, 6)]);
    expect([...got.ids].sort()).toEqual([p2.id, p3.id].sort());

    // the same without a list (a client that does not send recent_pubs): cannot be told, RESYNC
    s.keepMembership(other, { channels: [channel], pins: [] }, null);
    await s.flushed();
    await adopt(other);
    expect(await s.take(other, 5, null, null)).toMatchObject({ code: RESYNC, frames: [], channels: [channel] });

    // a full list whose oldest id is itself a candidate may have lost older ones it received: RESYNC
    const full = `u${++n}`;
    s.keepMembership(full, { channels: [channel], pins: [] }, null);
    await s.flushed();
    await adopt(full);
    const list = [p2.id, ...Array.from({ length: MAX_RECENT_PUBS - 1 }, (_, i) => `x.${i}`)];
    expect((await s.take(full, 5, null, list)).code).toBe(RESYNC);

    // resumed before any adoption (the dead gateway's pending pushes handed over): the window's log minus the list, then the pending pushes
    const early = `u${++n}`;
    s.keepMembership(early, { channels: [channel], pins: [] }, null);
    await s.flushed();
    const e = await s.take(early, 5, { frames: [raw(7)], overflow: false }, [p1.id]);
    expect({ code: e.code, seq: e.seq }).toEqual({ code: OK, seq: 9 });
    expect(e.frames).toEqual([stampSeq(p2.frame, 6), stampSeq(p9.frame, 7), stampSeq(p3.frame, 8), stampSeq(raw(7), 9)]);
  });

  it("an away member whose gateway died gets what the gateway stored and then the logged publications it did not store", async () => {
    const s = store();
    const channel = `room-${++n}`;
    const uid = `u${++n}`;
    const p1 = publish(channel, 1);
    await s.flushed();
    await sleep(5);
    // p1 reached the client before the drop (it is among the recent pushes stored at the drop)
    const a = s.detach(uid, { seq: 2, channels: [channel], pins: [] }, [stampSeq(p1.frame, 2)], [2], Date.now());
    const p2 = publish(channel, 2);
    s.keep(uid, a, 3, stampSeq(p2.frame, 3), p2.id);
    const p3 = publish(channel, 3); // published after the death: the dead gateway never stored it
    await s.flushed();
    const r = await s.take(uid, 2, { frames: [], overflow: false }, [p1.id]);
    expect({ code: r.code, seq: r.seq, channels: r.channels }).toEqual({ code: OK, seq: 4, channels: [channel] });
    expect(r.frames).toEqual([stampSeq(p2.frame, 3), stampSeq(p3.frame, 4)]);
    expect([...r.ids].sort()).toEqual([p1.id, p2.id, p3.id].sort());
  });

  it("replays the recent pushes the client lacks and those kept while away, once", async () => {
    const s = store();
    const uid = `u${++n}`;
    const away = s.detach(uid, { seq: 3, channels: ["team-1"], pins: [["game", "game-2"]] }, [push(2), push(3)], [2, 3], Date.now());
    s.keep(uid, away, 4, push(4));
    s.keep(uid, away, 5, push(5));
    await s.flushed();
    const got = await s.take(uid, 2);
    expect({ code: got.code, seq: got.seq, channels: got.channels, pins: got.pins }).toEqual({ code: OK, seq: 5, channels: ["team-1"], pins: [["game", "game-2"]] });
    expect(got.frames).toEqual([push(3), push(4), push(5)]);
    expect((await s.take(uid, 5)).code).toBe(RESYNC);
  });

  it("answers RESYNC past maxBytes, when last_seq is older than what is kept, and after an abandon", async () => {
    const bytes = store({ maxBytes: 3 * push(1).length });
    const a = `u${++n}`;
    const awayA = bytes.detach(a, { seq: 0, channels: [], pins: [] }, [], [], Date.now());
    for (let seq = 1; seq <= 4; seq++) bytes.keep(a, awayA, seq, push(seq));
    await bytes.flushed();
    expect(awayA).toMatchObject({ kept: 3, overflow: true });
    expect(await bytes.take(a, 0)).toMatchObject({ code: RESYNC, frames: [], seq: 4 });

    const s = store();
    const b = `u${++n}`;
    s.detach(b, { seq: 10, channels: [], pins: [] }, [push(9), push(10)], [9, 10], Date.now());
    await s.flushed();
    expect(await s.take(b, 7)).toMatchObject({ code: RESYNC, frames: [], seq: 10 });

    const c = `u${++n}`;
    s.detach(c, { seq: 1, channels: [], pins: [] }, [push(1)], [1], Date.now());
    s.abandon(c);
    await s.flushed();
    expect((await s.take(c, 1)).code).toBe(RESYNC);
  });

  it("keeps nothing past the window: both keys expire with it", async () => {
    const s = store({ windowMs: 5_000 });
    const uid = `u${++n}`;
    const away = s.detach(uid, { seq: 1, channels: [], pins: [] }, [push(1)], [1], Date.now());
    s.keep(uid, away, 2, push(2));
    await s.flushed();
    const ttls = await Promise.all([redis.pttl(`sy:resume:{${uid}}:m`), redis.pttl(`sy:resume:{${uid}}:s`)]);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
    for (const ttl of ttls) expect(ttl).toBeLessThanOrEqual(5_000);
  });
});
