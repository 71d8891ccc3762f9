import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { encodeFrame, PacketKind } from "../../../src/protocol/packet.js";
import type { SessionContext, SessionHost } from "../../../src/gateway/session.js";
import { WriteScheduler } from "../../../src/gateway/socket-writer.js";
import { WsSession, closeReason, wsSessionOf } from "../../../src/gateway/ws-session.js";

/** The part of a ws WebSocket a WsSession uses, recording what it is asked to do. */
class FakeWebSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Buffer[] = [];
  closedWith: [number, string] | null = null;
  send(data: Buffer): void {
    this.sent.push(Buffer.from(data));
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
}

function setup() {
  const frames: Buffer[] = [];
  const overflows: number[] = [];
  const host: SessionHost = {
    onFrame: (_s, f) => frames.push(Buffer.from(f)),
    onFramingError: () => undefined,
    onSlowReader: (_s, pending) => overflows.push(pending),
    keepAway: () => undefined,
    keepMembership: () => undefined,
  };
  const scheduler = new WriteScheduler(() => undefined);
  const ctx: SessionContext = { gatewayId: "gw-t", limits: { maxFrameBytes: 1024, maxPendingOutputBytes: 1000, rateLimit: { perSecond: 1, burst: 2 }, recentPushes: 0 }, scheduler, host };
  const ws = new FakeWebSocket();
  const session = new WsSession(9, new Socket(), ws as unknown as WebSocket, ctx, 1_000, "127.0.0.1");
  return { session, ws, frames, overflows, scheduler };
}

describe("WsSession", () => {
  it("is found from its WebSocket and says it is a WebSocket session", () => {
    const { session, ws } = setup();
    expect(wsSessionOf(ws as unknown as WebSocket)).toBe(session);
    expect(session.transport).toBe("ws");
  });

  it("hands each received message to the host as one packet and counts it as activity", () => {
    const { session, frames } = setup();
    const packet = encodeFrame(PacketKind.HEARTBEAT, 0, "", null).subarray(4);
    expect(session.greeted).toBe(false);
    session.receiveMessage(packet, 2_000);
    expect(frames).toEqual([Buffer.from(packet)]);
    expect(session.greeted).toBe(true);
    expect(session.lastActive).toBe(2_000);
    expect(session.frameStartedAt).toBe(0);
  });

  it("sends the frames of a tick as one message each, without the length prefix", () => {
    const { session, ws, scheduler } = setup();
    const a = encodeFrame(PacketKind.RESPONSE, 1, "", Buffer.from("one"));
    const b = encodeFrame(PacketKind.PUSH, 0, "t.P", Buffer.from("two"));
    session.write(a);
    session.write(b);
    expect(ws.sent).toEqual([]);
    scheduler.flushAll();
    expect(ws.sent).toEqual([a.subarray(4), b.subarray(4)]);
  });

  it("reports a slow reader from the WebSocket's bufferedAmount", () => {
    const { session, ws, overflows } = setup();
    ws.bufferedAmount = 990;
    expect(session.write(encodeFrame(PacketKind.PUSH, 0, "t.P", Buffer.alloc(20)))).toBe(false);
    expect(overflows).toHaveLength(1);
    expect(overflows[0]).toBeGreaterThan(1000);
  });

  it("closes with 4000 + the KICK code and the reason cut to a close frame's 123 bytes", () => {
    const { session, ws } = setup();
    const reason = "é".repeat(100);
    session.end(10, reason);
    const [code, sent] = ws.closedWith!;
    expect(code).toBe(4010);
    expect(Buffer.byteLength(sent)).toBeLessThanOrEqual(123);
    expect(sent.endsWith("…")).toBe(true);
    expect(reason.startsWith(sent.slice(0, -1))).toBe(true);
  });

  it("closeReason keeps a short reason as it is", () => {
    expect(closeReason("gateway full")).toBe("gateway full");
    expect(closeReason("x".repeat(123))).toBe("x".repeat(123));
    expect(Buffer.byteLength(closeReason("x".repeat(124)))).toBe(123);
  });
});
