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
