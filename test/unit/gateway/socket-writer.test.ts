import { describe, expect, it } from "vitest";
import { SocketWriter, WriteScheduler, type WritableSocket } from "../../../src/gateway/socket-writer.js";

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
});
