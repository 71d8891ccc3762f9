import { describe, expect, it } from "vitest";
import { FrameWriter } from "../../../src/client/frame-writer.js";

function sink(): { chunks: Uint8Array[]; write(c: Uint8Array): void } {
  const chunks: Uint8Array[] = [];
  return { chunks, write: (c) => chunks.push(Buffer.from(c)) };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("FrameWriter", () => {
  it("writes the frames of one tick as one chunk, in order", async () => {
    const s = sink();
    const w = new FrameWriter(s);
    w.write(Buffer.from([1, 2]));
    w.write(Buffer.from([3]));
    w.write(Buffer.from([4, 5, 6]));
    expect(s.chunks).toEqual([]);
    expect(w.pendingBytes).toBe(6);
    await tick();
    expect(s.chunks).toEqual([Buffer.from([1, 2, 3, 4, 5, 6])]);
    w.write(Buffer.from([9]));
    await tick();
    expect(s.chunks).toHaveLength(2);
  });

  it("includes frames queued by promise continuations of the same tick", async () => {
    const s = sink();
    const w = new FrameWriter(s);
    w.write(Buffer.from([1]));
    await Promise.resolve();
    w.write(Buffer.from([2]));
    await tick();
    expect(s.chunks).toEqual([Buffer.from([1, 2])]);
  });

  it("drops queued frames and later writes once closed", async () => {
    const s = sink();
    const w = new FrameWriter(s);
    w.write(Buffer.from([1]));
    w.close();
    w.write(Buffer.from([2]));
    await tick();
    expect(s.chunks).toEqual([]);
  });
});
