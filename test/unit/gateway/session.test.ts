import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { FramingError } from "../../../src/protocol/framing.js";
import { encodeFrame, PacketKind } from "../../../src/protocol/packet.js";
import { RateVerdict } from "../../../src/gateway/rate-limit.js";
import { Session, sessionOf, type SessionContext, type SessionHost } from "../../../src/gateway/session.js";
import { WriteScheduler } from "../../../src/gateway/socket-writer.js";

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
    keepTied: () => undefined,
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
});
