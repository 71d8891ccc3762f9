import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { FramingError } from "../../../src/protocol/framing.js";
import { decodePacket, encodeFrame, PacketKind, stampSeq } from "../../../src/protocol/packet.js";
import { RateVerdict } from "../../../src/gateway/rate-limit.js";
import { Session, sessionOf, type SessionContext, type SessionHost } from "../../../src/gateway/session.js";
import { WriteScheduler, type WritableSocket } from "../../../src/gateway/socket-writer.js";
import type { AwayState } from "../../../src/gateway/resume-store.js";

function setup(limits = { maxFrameBytes: 1024, maxPendingOutputBytes: 1 << 20, rateLimit: { perSecond: 1, burst: 2 }, recentPushes: 0 }) {
  const frames: Buffer[] = [];
  const errors: FramingError[] = [];
  const host: SessionHost = {
    onFrame: (s, f) => {
      expect(sessionOf(s.socket)).toBe(s);
      frames.push(Buffer.from(f));
    },
    onFramingError: (_s, e) => errors.push(e),
    onSlowReader: () => undefined,
    keepAway: () => undefined,
    keepMembership: () => undefined,
  };
  const ctx: SessionContext = { gatewayId: "gw-t", limits, scheduler: new WriteScheduler(() => undefined), host };
  const socket = new Socket();
  const session = new Session(7, socket, ctx, 1_000);
  return { session, socket, frames, errors };
}

describe("Session", () => {
  it("is found from its socket", () => {
    const { session, socket } = setup();
    expect(sessionOf(socket)).toBe(session);
    expect(sessionOf(new Socket())).toBeUndefined();
  });

  it("splits received bytes into frames for the host, across chunks", () => {
    const { session, frames, errors } = setup();
    const f = encodeFrame(PacketKind.HEARTBEAT, 0, "", null);
    const two = Buffer.concat([f, f]);
    session.receive(two.subarray(0, 3), 2_000);
    session.receive(two.subarray(3), 2_001);
    expect(frames.length).toBe(2);
    expect(errors).toEqual([]);
    expect(session.lastActive).toBe(2_001);
  });

  it("reports a framing error to the host", () => {
    const { session, errors } = setup();
    const b = Buffer.alloc(4);
    b.writeUInt32BE(5000);
    session.receive(b, 2_000);
    expect(errors).toEqual([{ reason: "oversized", declaredBytes: 5000 }]);
  });

  it("rate-limits from the first frame with a full bucket", () => {
    const { session } = setup();
    expect(session.rate(5_000)).toBe(RateVerdict.allowed);
    expect(session.rate(5_000)).toBe(RateVerdict.allowed);
    expect(session.rate(5_000)).toBe(RateVerdict.limited);
  });

  it("accepts no write once closed, also when it never wrote before", () => {
    const { session } = setup();
    session.closed = true;
    session.stopWriting();
    expect(session.write(encodeFrame(PacketKind.HEARTBEAT, 0, "", null))).toBe(false);
  });

  it("pushes one shared frame to bound sessions with each one's seq, keeping the frame + seq for a resume", () => {
    const runs: (() => void)[] = [];
    const kept: { seq: number; frame: Buffer }[] = [];
    const host: SessionHost = { onFrame: () => undefined, onFramingError: () => undefined, onSlowReader: () => undefined, keepAway: (_s, seq, frame) => kept.push({ seq, frame }), keepMembership: () => undefined };
    const ctx: SessionContext = {
      gatewayId: "gw-t",
      limits: { maxFrameBytes: 1024, maxPendingOutputBytes: 1 << 20, rateLimit: { perSecond: 1, burst: 2 }, recentPushes: 2 },
      scheduler: new WriteScheduler((fn) => runs.push(fn)),
      host,
    };
    const outputs = new Map<number, Buffer[]>();
    class CapturedSession extends Session {
      protected override outputSocket(): WritableSocket {
        const writes: Buffer[] = [];
        outputs.set(this.sid, writes);
        return { write: (c) => writes.push(Buffer.from(c)) > 0, cork: () => undefined, uncork: () => undefined, writableLength: 0, destroyed: false };
      }
    }
    const a = new CapturedSession(1, new Socket(), ctx, 0);
    const b = new CapturedSession(2, new Socket(), ctx, 0);
    a.setUid("ua");
    b.setUid("ub");
    b.push(encodeFrame(PacketKind.PUSH, 0, "r.Other", null));
    const shared = encodeFrame(PacketKind.PUSH, 0, "room.Tick", Buffer.from([5]));
    const copy = Buffer.from(shared);
    for (let i = 0; i < 3; i++) {
      a.push(shared);
      b.push(shared);
    }
    for (const run of runs.splice(0)) run();
    expect(shared).toEqual(copy);
    expect(outputs.get(1)).toEqual([Buffer.concat([1, 2, 3].map((seq) => stampSeq(shared, seq)))]);
    expect(outputs.get(2)).toEqual([Buffer.concat([stampSeq(encodeFrame(PacketKind.PUSH, 0, "r.Other", null), 1), ...[2, 3, 4].map((seq) => stampSeq(shared, seq))])]);
    const recent = a.recentPushes();
    expect(recent.seqs).toEqual([2, 3]);
    expect(recent.frames.map((f) => decodePacket(f.subarray(4))!.seq)).toEqual([2, 3]);
    // away: the next push is stamped for the host to store, not written
    a.away = { until: 0, kept: 0, bytes: 0, overflow: false } satisfies AwayState;
    a.push(shared);
    expect(kept).toEqual([{ seq: 4, frame: stampSeq(shared, 4) }]);
    expect(runs).toEqual([]);
  });
});
