import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResumeStore } from "../../src/gateway/resume-store.js";
import { createLogger } from "../../src/log/logger.js";
import { PacketKind, encodeFrame, stampSeq } from "../../src/protocol/packet.js";
import { startRedis, type RunningServer } from "../helpers/servers.js";

const OK = 0;
const RESYNC = 11;

describe("ResumeStore on a real redis-server: what an away uid keeps and what a resume gets", () => {
  let server: RunningServer;
  let redis: Redis;
  let n = 0;
  const push = (seq: number, bytes = 10): Buffer => stampSeq(encodeFrame(PacketKind.PUSH, 0, "t.P", Buffer.alloc(bytes, seq)), seq);
  const store = (limits: Partial<ConstructorParameters<typeof ResumeStore>[1]> = {}): ResumeStore =>
    new ResumeStore(redis, { windowMs: 10_000, maxPushes: 100, maxBytes: 1 << 20, recentPushes: 8, ...limits }, createLogger("test", "resume-store", "silent"));

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("after a gateway death: an adopted connected uid is renumbered after the client's last_seq; a tie, channels or lost pending pushes answer RESYNC", async () => {
    const s = store();
    const raw = (i: number): Buffer => encodeFrame(PacketKind.PUSH, 0, "t.P", Buffer.alloc(10, i));
    // connected at the death, adopted: kept as 1..3, the client had seen up to 7 from the dead gateway
    const connected = `u${++n}`;
    const found = await s.peek(connected);
    expect(found).toEqual({ away: null, tied: false });
    const away = s.adopt(connected, found, false, Date.now(), "gw-dead");
    for (let i = 1; i <= 3; i++) s.keep(connected, away, i, stampSeq(raw(i), i));
    await s.flushed();
    const got = await s.take(connected, 7);
    expect({ code: got.code, seq: got.seq, adoptedFrom: got.adoptedFrom }).toEqual({ code: OK, seq: 10, adoptedFrom: "gw-dead" });
    expect(got.frames).toEqual([stampSeq(raw(1), 8), stampSeq(raw(2), 9), stampSeq(raw(3), 10)]);

    // a connected uid that had joined a channel on the dead gateway: its adoption is incomplete
    const tied = `u${++n}`;
    s.markTied(tied);
    await s.flushed();
    const foundTied = await s.peek(tied);
    expect(foundTied.tied).toBe(true);
    s.adopt(tied, foundTied, foundTied.tied, Date.now(), "gw-dead");
    await s.flushed();
    expect((await s.take(tied, 4)).code).toBe(RESYNC);

    // resumed before any adoption (Bind.previous_lost): nothing stored, the pending pushes follow last_seq
    const early = `u${++n}`;
    const lost = { frames: [raw(1), raw(2)], overflow: false };
    const e = await s.take(early, 5, lost);
    expect({ code: e.code, seq: e.seq, frames: e.frames }).toEqual({ code: OK, seq: 7, frames: [stampSeq(raw(1), 6), stampSeq(raw(2), 7)] });
    expect((await s.take(`u${++n}`, 5, { frames: [raw(1)], overflow: true })).code).toBe(RESYNC);
    const earlyTied = `u${++n}`;
    s.markTied(earlyTied);
    await s.flushed();
    expect((await s.take(earlyTied, 5, lost)).code).toBe(RESYNC);

    // away at the death with a channel: its stored pushes are complete, the channel's since the death are not
    const awayUid = `u${++n}`;
    const a2 = s.detach(awayUid, { seq: 2, channels: ["room-1"], pins: [] }, [], [], Date.now());
    s.keep(awayUid, a2, 3, push(3));
    await s.flushed();
    const r = await s.take(awayUid, 2, lost);
    expect({ code: r.code, channels: r.channels }).toEqual({ code: RESYNC, channels: ["room-1"] });
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
