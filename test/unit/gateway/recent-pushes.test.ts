import { describe, expect, it } from "vitest";
import { RecentPushes } from "../../../src/gateway/recent-pushes.js";
import { PacketKind, decodePacket, encodeFrame, stampSeq } from "../../../src/protocol/packet.js";

const frameOf = (n: number): Buffer => encodeFrame(PacketKind.PUSH, 0, "room.Tick", Buffer.from([n]));

describe("RecentPushes", () => {
  it("keeps the shared frames, not copies, and stamps copies only when asked", () => {
    const ring = new RecentPushes(4);
    const shared = frameOf(1);
    const before = Buffer.from(shared);
    ring.add(shared, 1);
    ring.add(shared, 2);
    expect(shared).toEqual(before);
    const { frames, seqs } = ring.stamped();
    expect(seqs).toEqual([1, 2]);
    expect(frames).toEqual([stampSeq(shared, 1), stampSeq(shared, 2)]);
    expect(frames[0]).not.toBe(shared);
    expect(shared).toEqual(before);
  });

  it("keeps the last `capacity` pushes, oldest first, across many wraps", () => {
    const ring = new RecentPushes(3);
    for (let seq = 1; seq <= 10; seq++) {
      ring.add(frameOf(seq), seq);
      const { frames, seqs } = ring.stamped();
      const expected = [seq - 2, seq - 1, seq].filter((s) => s >= 1);
      expect(seqs).toEqual(expected);
      expect(frames.map((f) => decodePacket(f.subarray(4))!)).toEqual(
        expected.map((s) => expect.objectContaining({ seq: s, body: Buffer.from([s]) })),
      );
      expect(ring.size).toBe(expected.length);
    }
  });

  it("keeps seqs as given, gaps included (a resumed session continues from its stored seq)", () => {
    const ring = new RecentPushes(2);
    ring.add(frameOf(1), 41);
    ring.add(frameOf(2), 42);
    ring.add(frameOf(3), 90);
    expect(ring.stamped().seqs).toEqual([42, 90]);
  });

  it("refuses a capacity of 0 (a session with resume off keeps no ring)", () => {
    expect(() => new RecentPushes(0)).toThrow(RangeError);
  });
});
