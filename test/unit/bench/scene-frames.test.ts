import { describe, expect, it } from "vitest";
import type { scene } from "../../../src/generated/proto.js";
import { playerEntry, positionsBody, sceneIdField } from "../../../modules/scene/positions-codec.js";
import { MoveFrames, ScenePush, packetKind, scanPush } from "../../../bench/lib/scene-frames.js";
import { WalkTally, percentile } from "../../../bench/scenarios/lib/walk-tally.js";
import { FrameDecoder } from "../../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame, stampSeq } from "../../../src/protocol/packet.js";
import { loadProto } from "../../../src/proto/registry.js";

const registry = loadProto();
const moveCodec = registry.route<scene.MoveRequest>("scene.Move")!.request;
const f32 = (v: number) => Math.fround(v);

/** Splits a stream of frames into packets (what the driver's FrameDecoder hands it). */
function packets(stream: Buffer, chunk: number): Buffer[] {
  const out: Buffer[] = [];
  const d = new FrameDecoder(1 << 20, (f) => out.push(Buffer.from(f)), (e) => {
    throw new Error(e.reason);
  });
  for (let i = 0; i < stream.length; i += chunk) d.push(stream.subarray(i, i + chunk));
  return out;
}

describe("scene bench driver frames (bytes only)", () => {
  it("a move frame from the prefix decodes, with the generated codec, to the move it was given; every frame has one length", () => {
    const frames = new MoveFrames();
    const cases: [number, number, number, number][] = [
      [0, 0, 0, 0],
      [12.25, 999.5, -3.14159, 1],
      [500.1, 0.3, 6.2, 127],
      [1, 2, 3, 128],
      [1000, 1000, 0, 2 ** 28 - 1],
      [3, 4, 5, 2 ** 32 - 1],
      [7, 8, 9, Date.now() % 2 ** 32],
    ];
    for (const [x, y, dir, seq] of cases) {
      const frame = frames.frame(x, y, dir, seq);
      expect(frame.length).toBe(frames.frameBytes);
      expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
      const p = decodePacket(frame.subarray(4))!;
      expect(p).toMatchObject({ kind: PacketKind.NOTIFY, id: 0, route: "scene.Move" });
      expect(moveCodec.decode(p.body)).toEqual({ x: f32(x), y: f32(y), dir: f32(dir), seq });
    }
    // write() into a shared buffer gives the same bytes as frame()
    const out = Buffer.alloc(frames.frameBytes * 2);
    expect(frames.write(out, frames.write(out, 0, 1, 2, 3, 4), 5, 6, 7, 8)).toBe(out.length);
    expect(out.subarray(frames.frameBytes)).toEqual(frames.frame(5, 6, 7, 8));
  });

  it("scanning pushes counts Positions entries with their move → receipt time, Appear and Disappear players, corrections, as decoding would", () => {
    const clock = 1_000_000;
    const sceneId = sceneIdField("bench-aoi");
    const state = (uid: string, seq: number): scene.PlayerState => ({ uid, x: 1.5, y: 2.5, dir: 0.5, seq });
    const positions = [
      [state("u1", clock - 40), state("u22", clock - 7)],
      [state("a-much-longer-uid-0123456789", clock - 120)],
      Array.from({ length: 300 }, (_, i) => state(`p${i}`, clock - (i % 50))),
    ];
    const appear = registry.push<scene.Appear>("scene.Appear")!.encode({ sceneId: "bench-aoi", players: [state("n1", 0), state("n2", 0)] });
    const disappear = registry.push<scene.Disappear>("scene.Disappear")!.encode({ sceneId: "bench-aoi", uids: ["g1", "g2", "g3"], reason: "moved" });
    const correction = registry.push<scene.Correction>("scene.Correction")!.encode({ sceneId: "bench-aoi", self: state("me", 0), reason: "too fast" });
    let seq = 0;
    const push = (route: string, body: Uint8Array) => stampSeq(encodeFrame(PacketKind.PUSH, 0, route, body), ++seq);
    const stream = Buffer.concat([
      ...positions.map((ps) => push("scene.Positions", positionsBody(sceneId, ps.map(playerEntry)))),
      push("scene.Appear", appear),
      push("scene.Disappear", disappear),
      push("scene.Correction", correction),
      push("chat.Message", new Uint8Array([0x0a, 0x01, 0x41])),
      encodeFrame(PacketKind.RESPONSE, 9, "", new Uint8Array([1, 2])),
      encodeFrame(PacketKind.ERROR, 0, "", null, 9, "this connection is not the one in scene"),
    ]);
    for (const chunk of [stream.length, 1, 7, 4096]) {
      const tally = new WalkTally();
      const kinds: number[] = [];
      const routes: ScenePush[] = [];
      for (const p of packets(stream, chunk)) {
        kinds.push(packetKind(p));
        if (packetKind(p) === PacketKind.PUSH) routes.push(scanPush(p, clock, tally));
      }
      expect(kinds).toEqual([4, 4, 4, 4, 4, 4, 4, PacketKind.RESPONSE, PacketKind.ERROR]);
      expect(routes).toEqual([ScenePush.positions, ScenePush.positions, ScenePush.positions, ScenePush.appear, ScenePush.disappear, ScenePush.correction, ScenePush.other]);
      expect(tally.pushes).toBe(3);
      expect(tally.updates).toBe(303);
      expect({ appeared: tally.appeared, disappeared: tally.disappeared, corrections: tally.corrections }).toEqual({ appeared: 2, disappeared: 3, corrections: 1 });
      const expected = new Map<number, number>();
      for (const s of positions.flat()) expected.set(clock - s.seq, (expected.get(clock - s.seq) ?? 0) + 1);
      expect(new Map(tally.buckets())).toEqual(expected);
      expect(percentile(tally.buckets(), 100)).toBe(120);
    }
  });

  it("a seq stamped a little after the reader's clock (another process rounding its clock) counts as 0 ms, not 2^32", () => {
    const tally = new WalkTally();
    tally.receivedAt(1_001, 1_000);
    tally.receivedAt(2 ** 32 - 5, 5); // the clock wrapped between stamp and read: 10 ms
    expect(tally.buckets()).toEqual([[0, 1], [10, 1]]);
  });
});
