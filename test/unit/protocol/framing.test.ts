import { describe, expect, it, vi } from "vitest";
import { FrameDecoder, type FramingError } from "../../../src/protocol/framing.js";
import { decodePacket, encodeFrame } from "../../../src/protocol/packet.js";

function collect(max = 1024): { dec: FrameDecoder; frames: Buffer[]; errors: FramingError[] } {
  const frames: Buffer[] = [];
  const errors: FramingError[] = [];
  const dec = new FrameDecoder(max, (f) => frames.push(Buffer.from(f)), (e) => errors.push(e));
  return { dec, frames, errors };
}

/** A deterministic pseudo-random generator, so a failing split can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("FrameDecoder", () => {
  const frames = Array.from({ length: 40 }, (_, i) => encodeFrame(1, i + 1, `m.R${i}`, Buffer.alloc(i * 7, i)));
  const stream = Buffer.concat(frames);
  const expected = frames.map((f) => f.subarray(4));

  it("decodes merged frames from one chunk", () => {
    const { dec, frames: got, errors } = collect();
    dec.push(stream);
    expect(errors).toEqual([]);
    expect(got).toEqual(expected);
  });

  it("decodes frames split one byte at a time", () => {
    const { dec, frames: got } = collect();
    for (let i = 0; i < stream.length; i++) dec.push(stream.subarray(i, i + 1));
    expect(got).toEqual(expected);
  });

  it("any split of a valid stream decodes to the same packets (property, 300 random splits)", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = rng(seed);
      const { dec, frames: got, errors } = collect();
      let pos = 0;
      while (pos < stream.length) {
        const n = 1 + Math.floor(rand() * 64);
        dec.push(stream.subarray(pos, pos + n));
        pos += n;
      }
      expect(errors, `seed ${seed}`).toEqual([]);
      expect(got.length, `seed ${seed}`).toBe(expected.length);
      got.forEach((f, i) => expect(decodePacket(f)?.id, `seed ${seed} frame ${i}`).toBe(i + 1));
    }
  });

  it("keeps no buffer per chunk: a frame trickled byte by byte costs a few growing copies, bounded by what arrived", () => {
    const body = Buffer.alloc(60_000, 7);
    const f = Buffer.alloc(4 + body.length);
    f.writeUInt32BE(body.length, 0);
    body.copy(f, 4);
    const { dec, frames: got } = collect(64 * 1024);
    const made = [vi.spyOn(Buffer, "from"), vi.spyOn(Buffer, "concat"), vi.spyOn(Buffer, "alloc"), vi.spyOn(Buffer, "allocUnsafe"), vi.spyOn(Buffer, "allocUnsafeSlow")];
    const allocations = (): number => made.reduce((n, spy) => n + spy.mock.calls.length, 0);
    try {
      for (let i = 0; i < 10_004; i++) dec.push(f.subarray(i, i + 1));
      // 10,000 body bytes in 10,000 chunks: the body buffer grew 1 KiB → 2 → 4 → 8 → 16 KiB
      expect(allocations()).toBeLessThanOrEqual(8);
      expect(dec.buffered).toBe(10_004);
      expect(dec.reserved).toBeLessThanOrEqual(2 * 10_000);
      for (let i = 10_004; i < f.length; i++) dec.push(f.subarray(i, i + 1));
      expect(allocations()).toBeLessThanOrEqual(16);
    } finally {
      for (const spy of made) spy.mockRestore();
    }
    expect(got).toEqual([body]);
    expect(dec.buffered).toBe(0);
    expect(dec.reserved).toBe(0);
  });

  it("reserves by what arrived, not by the declared length", () => {
    const { dec } = collect(64 * 1024);
    const prefix = Buffer.alloc(5, 1);
    prefix.writeUInt32BE(64 * 1024, 0);
    dec.push(prefix);
    expect(dec.reserved).toBeLessThanOrEqual(1024);
  });

  it("copies what it keeps: a chunk reused by the caller after push does not change the frame", () => {
    const f = encodeFrame(1, 9, "m.R", Buffer.alloc(100, 3));
    const { dec, frames: got } = collect();
    const scratch = Buffer.alloc(1);
    for (let i = 0; i < f.length; i++) {
      scratch[0] = f[i]!;
      dec.push(scratch);
    }
    expect(got).toEqual([f.subarray(4)]);
  });

  it("counts decoded frames and reports a started frame as buffered (prefix included)", () => {
    const { dec } = collect();
    const f = encodeFrame(5, 0, "", null);
    dec.push(Buffer.concat([f, f.subarray(0, 2)]));
    expect(dec.framesDecoded).toBe(1);
    expect(dec.buffered).toBe(2);
    dec.push(f.subarray(2, 4));
    expect(dec.buffered).toBe(4);
    dec.push(f.subarray(4));
    expect(dec.framesDecoded).toBe(2);
    expect(dec.buffered).toBe(0);
  });

  it("rejects an oversized frame from its length prefix, before its body arrives", () => {
    const { dec, frames: got, errors } = collect(100);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(101);
    dec.push(prefix.subarray(0, 2));
    expect(errors).toEqual([]);
    dec.push(prefix.subarray(2));
    expect(errors).toEqual([{ reason: "oversized", declaredBytes: 101 }]);
    expect(dec.buffered).toBe(0);
    dec.push(encodeFrame(1, 1, "a.B", null)); // ignored after the error
    expect(got).toEqual([]);
  });

  it("accepts a frame of exactly the maximum size", () => {
    const { dec, frames: got, errors } = collect(100);
    const f = Buffer.alloc(104, 1);
    f.writeUInt32BE(100, 0);
    dec.push(f);
    expect(errors).toEqual([]);
    expect(got.length).toBe(1);
  });

  it("rejects a zero-length frame", () => {
    const { dec, errors } = collect();
    dec.push(Buffer.alloc(4));
    expect(errors[0]?.reason).toBe("empty");
  });
});

describe("FrameDecoder with a FrameSink", () => {
  it("hands frames and errors to the sink object", () => {
    const frames: Buffer[] = [];
    const errors: FramingError[] = [];
    const dec = new FrameDecoder(16, { onFrame: (f) => frames.push(Buffer.from(f)), onFramingError: (e) => errors.push(e) });
    const f = encodeFrame(5, 0, "", null);
    dec.push(Buffer.concat([f, f.subarray(0, 2)]));
    dec.push(f.subarray(2));
    expect(frames.length).toBe(2);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(17);
    dec.push(big);
    expect(errors).toEqual([{ reason: "oversized", declaredBytes: 17 }]);
  });
});
