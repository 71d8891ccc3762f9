import { describe, expect, it } from "vitest";
import { loadProto } from "../../../src/proto/registry.js";
import { PacketKind, decodePacket, encodeChannelPush, encodeFrame, restampSeq, stampSeq, stampedLength, writeStamped } from "../../../src/protocol/packet.js";
import type { wire } from "../../../src/generated/proto.js";

const codec = loadProto().message<wire.Packet>("wire.Packet");

function randomPacket(i: number): wire.Packet {
  const body = new Uint8Array(i % 300);
  for (let j = 0; j < body.length; j++) body[j] = (j * 31 + i) & 0xff;
  return {
    kind: (i % 7) + 1 as wire.Kind,
    id: i % 5 === 0 ? 0 : (i * 2654435761) >>> 0,
    route: i % 3 === 0 ? "" : `mod${i % 11}.Method${i}é`,
    body,
    code: (i % 4 === 0 ? i % 11 : 0) as wire.ErrorCode,
    message: i % 4 === 0 ? `reason ${i} ✓` : "",
    redirect: i % 8 === 0 ? `ws://gw-${i}.example:3251/ws` : "",
    seq: 0,
    pub: i % 6 === 0 ? `chat-${i % 3}.k2x9.${i}` : "",
  };
}

describe("packet codec", () => {
  it("stamps a seq on a copy of a frame that protobufjs and decodePacket both read", () => {
    const frame = encodeFrame(4, 0, "team.Chat", Buffer.from([1, 2, 3]));
    for (const seq of [1, 127, 128, 300_000, 0xffff_ffff]) {
      const stamped = stampSeq(frame, seq);
      expect(stamped.readUInt32BE(0)).toBe(stamped.length - 4);
      expect(codec.decode(stamped.subarray(4))).toMatchObject({ kind: 4, route: "team.Chat", seq });
      const p = decodePacket(stamped.subarray(4));
      expect({ kind: p?.kind, route: p?.route, seq: p?.seq, body: [...(p?.body ?? [])] }).toEqual({ kind: 4, route: "team.Chat", seq, body: [1, 2, 3] });
    }
    expect(decodePacket(frame.subarray(4))?.seq).toBe(0);
  });

  it("restamps a stamped frame with another seq, whatever the two seqs' varint sizes", () => {
    const frame = encodeFrame(4, 0, "team.Chat", Buffer.from([1, 2, 3]));
    for (const [from, to] of [[1, 2], [1, 300_000], [300_000, 1], [127, 128], [0xffff_ffff, 5]] as const) {
      const again = restampSeq(stampSeq(frame, from), from, to);
      expect(again).toEqual(stampSeq(frame, to));
      expect(decodePacket(again.subarray(4))).toMatchObject({ kind: 4, route: "team.Chat", seq: to });
    }
  });

  it("writes one shared PUSH frame stamped with each member's seq into a larger buffer, equal to protobufjs' encoding", () => {
    const body = Buffer.alloc(200, 7);
    const frame = encodeFrame(4, 0, "bench.Tick", body);
    const before = Buffer.from(frame);
    const seqs = [1, 2, 127, 128, 16_383, 16_384, 2_097_152, 0x7fff_ffff, 0xffff_ffff];
    const total = seqs.reduce((n, seq) => n + stampedLength(frame, seq), 0);
    const out = Buffer.alloc(total + 3, 0xee);
    let pos = 3;
    for (const seq of seqs) pos = writeStamped(out, pos, frame, seq);
    expect(pos).toBe(out.length);
    expect(frame).toEqual(before);
    pos = 3;
    for (const seq of seqs) {
      const len = out.readUInt32BE(pos);
      const packet = out.subarray(pos + 4, pos + 4 + len);
      const reference = Buffer.from(codec.encode({ kind: 4, route: "bench.Tick", body, seq }));
      // same fields in protobufjs' field order: the bytes are equal, not only the decoded values
      expect(Buffer.from(packet)).toEqual(reference);
      expect(decodePacket(packet)).toMatchObject({ kind: 4, route: "bench.Tick", seq });
      pos += 4 + len;
    }
    expect([...out.subarray(0, 3)]).toEqual([0xee, 0xee, 0xee]);
  });

  it("encodes what protobufjs decodes to the same fields, behind a 4-byte big-endian length", () => {
    for (let i = 0; i < 500; i++) {
      const p = { ...randomPacket(i), pub: "" };
      const frame = encodeFrame(p.kind, p.id, p.route, p.body, p.code, p.message, p.redirect);
      expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
      const back = codec.decode(frame.subarray(4));
      const fields = { kind: back.kind, id: back.id, route: back.route, body: Buffer.from(back.body), code: back.code, message: back.message, redirect: back.redirect, seq: back.seq, pub: back.pub };
      expect(fields).toEqual({ ...p, body: Buffer.from(p.body) });
    }
  });

  it("a channel PUSH carries its publication id, which stamping a seq keeps", () => {
    const frame = encodeChannelPush("team.Chat", Buffer.from([9, 8]), "team-1.k2x9.41");
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    const stamped = stampSeq(frame, 12);
    expect(codec.decode(stamped.subarray(4))).toMatchObject({ kind: PacketKind.PUSH, route: "team.Chat", seq: 12, pub: "team-1.k2x9.41" });
    expect(decodePacket(stamped.subarray(4))).toMatchObject({ kind: PacketKind.PUSH, route: "team.Chat", seq: 12, pub: "team-1.k2x9.41" });
    expect(decodePacket(restampSeq(stamped, 12, 300).subarray(4))).toMatchObject({ seq: 300, pub: "team-1.k2x9.41" });
  });

  it("decodes what protobufjs encodes, to the same fields", () => {
    for (let i = 0; i < 500; i++) {
      const p = randomPacket(i);
      const decoded = decodePacket(codec.encode(p));
      expect(decoded).not.toBeNull();
      expect({ ...decoded!, body: Buffer.from(decoded!.body) }).toEqual({ ...p, body: Buffer.from(p.body) });
    }
  });

  it("returns the body as a view into the frame, not a copy", () => {
    const frame = encodeFrame(1, 7, "echo.Echo", new Uint8Array([1, 2, 3]));
    const p = decodePacket(frame.subarray(4))!;
    expect(p.body.buffer).toBe(frame.buffer);
  });

  it("rejects truncated and malformed bytes instead of throwing", () => {
    const good = encodeFrame(1, 300, "login.Login", new Uint8Array(40)).subarray(4);
    for (let cut = 1; cut < good.length; cut++) {
      const r = decodePacket(good.subarray(0, cut));
      // a prefix may still be a valid shorter packet only when it ends on a field boundary
      if (r !== null) expect(r.body.length).toBeLessThan(40);
    }
    expect(decodePacket(new Uint8Array([0x00]))).toBeNull(); // field 0
    expect(decodePacket(new Uint8Array([0x0b]))).toBeNull(); // wire type 3
    expect(decodePacket(new Uint8Array([0x22, 0x05, 1]))).toBeNull(); // length past the end
    expect(decodePacket(new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBeNull();
  });

  it("skips unknown fields, as protobuf requires", () => {
    const extra = Buffer.concat([Buffer.from([0x08, 0x01, 0x78, 0x05, 0x82, 0x01, 0x02, 0xaa, 0xbb]), Buffer.from([0x10, 0x09])]);
    const p = decodePacket(extra)!;
    expect(p.kind).toBe(1);
    expect(p.id).toBe(9);
  });
});
