import type { scene } from "../../src/generated/proto.js";

/**
 * Builds scene.Positions bodies from parts encoded once per tick: each mover's PlayerState is
 * encoded once, as a ready `players` field entry, and every recipient's body is the scene_id
 * field plus the entries of the movers it sees, copied. protobufjs would encode each state again
 * for every recipient (~40 of them at the default density). The wire format is proto/scene.proto's
 * (a unit test decodes these bodies with the generated codec).
 */

const encoder = new TextEncoder();
const f32 = new DataView(new ArrayBuffer(4));

// Field keys: (number << 3) | wire type (2 = length-delimited, 5 = 32-bit, 0 = varint).
const KEY_SCENE_ID = (1 << 3) | 2;
const KEY_PLAYERS = (2 << 3) | 2;
const KEY_UID = (1 << 3) | 2;
const KEY_X = (2 << 3) | 5;
const KEY_Y = (3 << 3) | 5;
const KEY_DIR = (4 << 3) | 5;
const KEY_SEQ = (5 << 3) | 0;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

function writeFloat(buf: Uint8Array, at: number, key: number, v: number): number {
  buf[at++] = key;
  f32.setFloat32(0, v, true);
  buf[at++] = f32.getUint8(0);
  buf[at++] = f32.getUint8(1);
  buf[at++] = f32.getUint8(2);
  buf[at++] = f32.getUint8(3);
  return at;
}

/** A length-delimited field entry: key, length, bytes. */
function lengthDelimited(key: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + varintLength(bytes.length) + bytes.length);
  out[0] = key;
  out.set(bytes, writeVarint(out, 1, bytes.length));
  return out;
}

/** The `scene_id` field of a Positions body (encoded once per scene). */
export function sceneIdField(sceneId: string): Uint8Array {
  return lengthDelimited(KEY_SCENE_ID, encoder.encode(sceneId));
}

/** One `players` entry of a Positions body: the PlayerState as it is now. */
export function playerEntry(state: scene.PlayerState): Uint8Array {
  const uid = encoder.encode(state.uid);
  const seq = state.seq >>> 0;
  const inner = new Uint8Array(1 + varintLength(uid.length) + uid.length + 15 + 1 + varintLength(seq));
  inner[0] = KEY_UID;
  let at = writeVarint(inner, 1, uid.length);
  inner.set(uid, at);
  at += uid.length;
  at = writeFloat(inner, at, KEY_X, state.x);
  at = writeFloat(inner, at, KEY_Y, state.y);
  at = writeFloat(inner, at, KEY_DIR, state.dir);
  inner[at++] = KEY_SEQ;
  writeVarint(inner, at, seq);
  return lengthDelimited(KEY_PLAYERS, inner);
}

/** A Positions body: the scene_id field followed by the given player entries. */
export function positionsBody(sceneId: Uint8Array, entries: readonly Uint8Array[]): Uint8Array {
  let len = sceneId.length;
  for (const e of entries) len += e.length;
  const out = new Uint8Array(len);
  out.set(sceneId, 0);
  let at = sceneId.length;
  for (const e of entries) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}
