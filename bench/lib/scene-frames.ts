// The scene bench driver's wire work, done on bytes: scene.Move NOTIFY frames written from a
// prefix encoded once, and pushes counted by scanning the packet bytes (kind, route, the
// Positions entries and the seq inside each) without protobuf-decoding them. Layouts are the
// ones of proto/wire.proto and proto/scene.proto as src/protocol/packet.ts and
// modules/scene/positions-codec.ts write them; test/unit/bench/scene-frames.test.ts checks
// both against the generated codecs.
import { PacketKind, encodeFrame } from "../../src/protocol/packet.js";
import type { WalkTally } from "../scenarios/lib/walk-tally.js";

const MOVE_ROUTE = "scene.Move";
// MoveRequest: x = 1, y = 2, dir = 3 (float, wire type 5), seq = 4 (varint).
const KEY_X = (1 << 3) | 5;
const KEY_Y = (2 << 3) | 5;
const KEY_DIR = (3 << 3) | 5;
const KEY_SEQ = (4 << 3) | 0;
/** seq is written as a 5-byte varint whatever its value, so every move frame has one length. */
const SEQ_BYTES = 5;
const MOVE_BODY_BYTES = 3 * 5 + 1 + SEQ_BYTES;

/**
 * Builds scene.Move NOTIFY frames: length prefix, kind, route and body header are encoded once;
 * each move writes only x, y, dir and seq after them. Every field is present (explicit zeros
 * and a padded varint are valid protobuf), so the frame length never changes.
 */
export class MoveFrames {
  private readonly prefix: Buffer;
  /** Bytes of one frame, length prefix included. */
  readonly frameBytes: number;

  constructor() {
    const full = encodeFrame(PacketKind.NOTIFY, 0, MOVE_ROUTE, new Uint8Array(MOVE_BODY_BYTES).fill(1));
    this.prefix = Buffer.from(full.subarray(0, full.length - MOVE_BODY_BYTES));
    this.frameBytes = full.length;
  }

  /**
   * One frame in a fresh buffer (a small slice of Node's pool): a socket may still hold the
   * previous one when the next move is written, so a frame is never rewritten in place.
   */
  frame(x: number, y: number, dir: number, seq: number): Buffer {
    const out = Buffer.allocUnsafe(this.frameBytes);
    this.write(out, 0, x, y, dir, seq);
    return out;
  }

  /** Writes one frame into `out` at `at`; returns the offset after it. */
  write(out: Buffer, at: number, x: number, y: number, dir: number, seq: number): number {
    at += this.prefix.copy(out, at);
    out[at] = KEY_X;
    out.writeFloatLE(x, at + 1);
    out[at + 5] = KEY_Y;
    out.writeFloatLE(y, at + 6);
    out[at + 10] = KEY_DIR;
    out.writeFloatLE(dir, at + 11);
    out[at + 15] = KEY_SEQ;
    let v = seq >>> 0;
    for (let i = 0; i < SEQ_BYTES - 1; i++) {
      out[at + 16 + i] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[at + 16 + SEQ_BYTES - 1] = v;
    return at + MOVE_BODY_BYTES;
  }
}

/** Which push a frame was, as far as the driver cares. */
export const ScenePush = { positions: 1, appear: 2, disappear: 3, correction: 4, chat: 5, other: 6 } as const;
export type ScenePush = (typeof ScenePush)[keyof typeof ScenePush];

const ROUTES: readonly [ScenePush, Buffer][] = [
  [ScenePush.positions, Buffer.from("scene.Positions")],
  [ScenePush.appear, Buffer.from("scene.Appear")],
  [ScenePush.disappear, Buffer.from("scene.Disappear")],
  [ScenePush.correction, Buffer.from("scene.Correction")],
  [ScenePush.chat, Buffer.from("scene.ChatMessage")],
];

/** The kind of a packet (its first field, as the gateway writes it), or 0 when it does not start with one. */
export function packetKind(packet: Uint8Array): number {
  return packet.length >= 2 && packet[0] === 0x08 ? packet[1]! : 0;
}

/** Reads the varint at `cursor.at` and leaves `cursor.at` after it. */
function varint(buf: Uint8Array, cursor: { at: number }): number {
  let v = 0;
  let mul = 1;
  let b: number;
  do {
    b = buf[cursor.at++]!;
    v += (b & 0x7f) * mul;
    mul *= 128;
  } while (b & 0x80 && cursor.at < buf.length);
  return v;
}

/** Moves `cursor.at` past the value (of wire type `wt`) that starts there. */
function skip(buf: Uint8Array, cursor: { at: number }, wt: number): void {
  if (wt === 0) varint(buf, cursor);
  else if (wt === 2) {
    const len = varint(buf, cursor); // read before adding: `at += varint()` would add to the old offset
    cursor.at += len;
  }
  else if (wt === 5) cursor.at += 4;
  else if (wt === 1) cursor.at += 8;
  else cursor.at = buf.length; // groups are not used by any proto here: stop scanning
}

function routeOf(packet: Uint8Array, at: number, len: number): ScenePush {
  outer: for (const [kind, bytes] of ROUTES) {
    if (bytes.length !== len) continue;
    for (let i = 0; i < len; i++) if (packet[at + i] !== bytes[i]) continue outer;
    return kind;
  }
  return ScenePush.other;
}

/** The seq of one PlayerState (bytes [from, to)), or -1 when it has none. */
function stateSeq(buf: Uint8Array, from: number, to: number, cursor: { at: number }): number {
  cursor.at = from;
  while (cursor.at < to) {
    const key = buf[cursor.at++]!;
    if (key === ((5 << 3) | 0)) return varint(buf, cursor);
    skip(buf, cursor, key & 7);
  }
  return -1;
}

const cursor = { at: 0 };
const inner = { at: 0 };

/**
 * Counts one PUSH packet (no length prefix) into `tally`: a Positions push adds its entries to
 * the updates, each with its move → receipt time (the seq the mover stamped, read at `clock`);
 * Appear and Disappear add the players that came and went. Returns which push it was; the
 * body is not decoded (a Correction's caller decodes that rare one itself).
 */
export function scanPush(packet: Uint8Array, clock: number, tally: WalkTally): ScenePush {
  // kind (2 bytes), then route: key 0x1a, a one-byte length (every scene route is < 128 bytes).
  if (packet[2] !== 0x1a) return ScenePush.other;
  const routeLen = packet[3]!;
  const route = routeOf(packet, 4, routeLen);
  if (route === ScenePush.other || route === ScenePush.chat || route === ScenePush.correction) {
    if (route === ScenePush.correction) tally.corrections++;
    return route;
  }
  cursor.at = 4 + routeLen;
  if (packet[cursor.at++] !== 0x22) return route; // no body: nothing to count
  const bodyLen = varint(packet, cursor);
  const end = Math.min(packet.length, cursor.at + bodyLen);
  if (route === ScenePush.positions) tally.pushes++;
  // Positions and Appear: players = field 2 (PlayerState); Disappear: uids = field 2.
  while (cursor.at < end) {
    const key = packet[cursor.at++]!;
    if (key !== ((2 << 3) | 2)) {
      skip(packet, cursor, key & 7);
      continue;
    }
    const len = varint(packet, cursor);
    const from = cursor.at;
    cursor.at += len;
    if (route === ScenePush.positions) {
      const seq = stateSeq(packet, from, cursor.at, inner);
      if (seq >= 0) tally.receivedAt(seq, clock);
      else tally.updates++; // no seq (0 omitted by another encoder): counted, not timed
    }
    else if (route === ScenePush.appear) tally.appeared++;
    else tally.disappeared++;
  }
  return route;
}
