import { describe, expect, it } from "vitest";
import { SocketWriter, WriteScheduler, type WritableSocket } from "../../../src/gateway/socket-writer.js";
import { FrameDecoder } from "../../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame, stampSeq } from "../../../src/protocol/packet.js";

class FakeSocket implements WritableSocket {
  writes: Buffer[] = [];
  corks = 0;
  writableLength = 0;
  destroyed = false;
  write(chunk: Uint8Array): boolean {
    this.writes.push(Buffer.from(chunk));
    return true;
  }
  cork(): void {
    this.corks++;
  }
  uncork(): void {}
}

function manual(): { scheduler: WriteScheduler; runs: (() => void)[] } {
  const runs: (() => void)[] = [];
  return { scheduler: new WriteScheduler((fn) => runs.push(fn)), runs };
}

describe("SocketWriter", () => {
  it("gathers a tick's frames into one socket write", () => {
    const { scheduler, runs } = manual();
    const sock = new FakeSocket();
    const w = new SocketWriter(sock, scheduler, 1 << 20, () => {});
    w.write(Buffer.from([1, 2]));
    w.write(Buffer.from([3]));
    w.write(Buffer.from([4, 5, 6]));
    expect(sock.writes).toHaveLength(0);
    expect(runs).toHaveLength(1);
    runs[0]!();
    expect(sock.writes).toEqual([Buffer.from([1, 2, 3, 4, 5, 6])]);
  });

  it("schedules one flush per tick for all writers", () => {
    const { scheduler, runs } = manual();
    const a = new FakeSocket();
    const b = new FakeSocket();
    const wa = new SocketWriter(a, scheduler, 1 << 20, () => {});
    const wb = new SocketWriter(b, scheduler, 1 << 20, () => {});
    const shared = Buffer.from([9, 9]);
    wa.write(shared);
    wb.write(shared);
    wa.write(Buffer.from([1]));
    expect(runs).toHaveLength(1);
    expect(scheduler.waiting).toBe(2);
    runs[0]!();
    expect(a.writes).toEqual([Buffer.from([9, 9, 1])]);
    expect(b.writes).toEqual([shared]);
    wa.write(Buffer.from([2]));
    expect(runs).toHaveLength(2);
  });

  it("corks instead of copying large batches", () => {
    const { scheduler, runs } = manual();
    const sock = new FakeSocket();
    const w = new SocketWriter(sock, scheduler, 10 << 20, () => {});
    w.write(Buffer.alloc(200 * 1024));
    w.write(Buffer.alloc(200 * 1024));
    runs[0]!();
    expect(sock.corks).toBe(1);
    expect(sock.writes).toHaveLength(2);
  });

  it("reports a slow reader once, counting the socket's own buffer", () => {
    const { scheduler } = manual();
    const sock = new FakeSocket();
    sock.writableLength = 90;
    const overflows: number[] = [];
    const w = new SocketWriter(sock, scheduler, 100, (n) => overflows.push(n));
    expect(w.write(Buffer.alloc(5))).toBe(true);
    expect(w.pendingBytes).toBe(95);
    expect(w.write(Buffer.alloc(10))).toBe(false);
    expect(w.write(Buffer.alloc(1))).toBe(false);
    expect(overflows).toEqual([105]);
  });

  it("stop() flushes what is queued and refuses later frames", () => {
    const { scheduler } = manual();
    const sock = new FakeSocket();
    const w = new SocketWriter(sock, scheduler, 1000, () => {});
    w.write(Buffer.from([7]));
    w.stop();
    expect(sock.writes).toEqual([Buffer.from([7])]);
    expect(w.write(Buffer.from([8]))).toBe(false);
  });

  it("drops frames for a destroyed socket", () => {
    const { scheduler, runs } = manual();
    const sock = new FakeSocket();
    const w = new SocketWriter(sock, scheduler, 1000, () => {});
    w.write(Buffer.from([1]));
    sock.destroyed = true;
    runs[0]!();
    expect(sock.writes).toEqual([]);
  });

  it("writes a shared PUSH frame with each writer's own seq, leaving the shared frame untouched", () => {
    const { scheduler, runs } = manual();
    const shared = encodeFrame(PacketKind.PUSH, 0, "room.Tick", Buffer.from([1, 2, 3]));
    const copy = Buffer.from(shared);
    const socks = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    const writers = socks.map((s) => new SocketWriter(s, scheduler, 1 << 20, () => {}));
    writers.forEach((w, i) => w.writeStamped(shared, 1000 + i));
    expect(writers[0]!.pendingBytes).toBe(stampSeq(shared, 1000).length);
    runs[0]!();
    expect(shared).toEqual(copy);
    socks.forEach((s, i) => {
      expect(s.writes).toEqual([stampSeq(shared, 1000 + i)]);
      expect(decodePacket(s.writes[0]!.subarray(4))).toMatchObject({ kind: PacketKind.PUSH, route: "room.Tick", seq: 1000 + i });
    });
  });

  it("mixes stamped and plain frames of one tick in one write, each with its own length prefix", () => {
    const { scheduler, runs } = manual();
    const sock = new FakeSocket();
    const w = new SocketWriter(sock, scheduler, 1 << 20, () => {});
    const push = encodeFrame(PacketKind.PUSH, 0, "room.Tick", Buffer.from([9]));
    const reply = encodeFrame(PacketKind.RESPONSE, 7, "", Buffer.from([4, 4]));
    w.write(reply);
    w.writeStamped(push, 1);
    w.writeStamped(push, 200);
    w.write(push);
    runs[0]!();
    expect(sock.writes).toHaveLength(1);
    expect(sock.writes[0]).toEqual(Buffer.concat([reply, stampSeq(push, 1), stampSeq(push, 200), push]));
    const seen: { kind: number; id: number; seq: number }[] = [];
    const decoder = new FrameDecoder(1 << 20, { onFrame: (f) => seen.push(pick(decodePacket(f)!)), onFramingError: () => seen.push({ kind: -1, id: 0, seq: 0 }) });
    decoder.push(sock.writes[0]!);
    expect(seen).toEqual([
      { kind: PacketKind.RESPONSE, id: 7, seq: 0 },
      { kind: PacketKind.PUSH, id: 0, seq: 1 },
      { kind: PacketKind.PUSH, id: 0, seq: 200 },
      { kind: PacketKind.PUSH, id: 0, seq: 0 },
    ]);
  });

  it("stamps each frame on its own when a large batch is corked instead of copied", () => {
    const { scheduler, runs } = manual();
    const sock = new FakeSocket();
    const w = new SocketWriter(sock, scheduler, 10 << 20, () => {});
    const big = encodeFrame(PacketKind.PUSH, 0, "room.Map", Buffer.alloc(200 * 1024, 3));
    w.writeStamped(big, 5);
    w.writeStamped(big, 6);
    runs[0]!();
    expect(sock.corks).toBe(1);
    expect(sock.writes).toEqual([stampSeq(big, 5), stampSeq(big, 6)]);
  });

  it("counts a stamped frame's seq bytes against the pending limit", () => {
    const { scheduler } = manual();
    const sock = new FakeSocket();
    const push = encodeFrame(PacketKind.PUSH, 0, "r.T", null);
    const overflows: number[] = [];
    // exactly the stamped size fits; one byte less overflows
    const fits = new SocketWriter(sock, scheduler, stampSeq(push, 300).length, (n) => overflows.push(n));
    expect(fits.writeStamped(push, 300)).toBe(true);
    const tight = new SocketWriter(sock, scheduler, stampSeq(push, 300).length - 1, (n) => overflows.push(n));
    expect(tight.writeStamped(push, 300)).toBe(false);
    expect(overflows).toEqual([stampSeq(push, 300).length]);
  });
});

function pick(p: { kind: number; id: number; seq: number }): { kind: number; id: number; seq: number } {
  return { kind: p.kind, id: p.id, seq: p.seq };
}
