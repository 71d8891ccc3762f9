import { wire } from "../generated/proto.js";
import { LENGTH_PREFIX_BYTES } from "./framing.js";

/** Packet kinds (proto/wire.proto `wire.Kind`). */
export const PacketKind = wire.Kind;
export type PacketKind = wire.Kind;

/**
 * A decoded wire.Packet. `body` is a view into the frame it was decoded from (no copy):
 * forward or decode it before the frame's buffer is reused.
 */
export interface Packet {
  kind: number;
  id: number;
  route: string;
  body: Uint8Array;
  code: number;
  message: string;
  /** KICK only: where to connect instead ("host:port" on TCP, a WebSocket URL on WebSocket), or "". */
  redirect: string;
  /** PUSH to a bound session only: the uid's push sequence number (1, 2, …), else 0. */
  seq: number;
  /** PUSH of a channel message only: its publication id, else "". */
  pub: string;
}

const EMPTY = new Uint8Array(0);

/**
 * Decodes one wire.Packet by hand: the gateway decodes every client frame, and protobufjs'
 * generic decoder allocates a message object with a prototype chain per call. Equivalent to
 * protobufjs on every valid input (checked by a unit test); returns null on malformed bytes.
 */
export function decodePacket(buf: Uint8Array): Packet | null {
  const p: Packet = { kind: 0, id: 0, route: "", body: EMPTY, code: 0, message: "", redirect: "", seq: 0, pub: "" };
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    // tag varint (field numbers here are small; still accept up to 5 bytes)
    let tag = 0;
    let shift = 0;
    let b: number;
    do {
      if (pos >= end || shift > 28) return null;
      b = buf[pos++]!;
      tag |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    tag >>>= 0;
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 0) return null;
    if (wt === 0) {
      let v = 0;
      let mul = 1;
      let n = 0;
      do {
        if (pos >= end || n >= 10) return null;
        b = buf[pos++]!;
        if (n < 5) v += (b & 0x7f) * mul;
        mul *= 128;
        n++;
      } while (b & 0x80);
      v = v >>> 0;
      if (field === 1) p.kind = v;
      else if (field === 2) p.id = v;
      else if (field === 5) p.code = v;
      else if (field === 8) p.seq = v;
    } else if (wt === 2) {
      let len = 0;
      shift = 0;
      do {
        if (pos >= end || shift > 28) return null;
        b = buf[pos++]!;
        len |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      if (len < 0 || pos + len > end) return null;
      if (field === 3) p.route = utf8(buf, pos, pos + len);
      else if (field === 4) p.body = buf.subarray(pos, pos + len);
      else if (field === 6) p.message = utf8(buf, pos, pos + len);
      else if (field === 7) p.redirect = utf8(buf, pos, pos + len);
      else if (field === 9) p.pub = utf8(buf, pos, pos + len);
      pos += len;
    } else if (wt === 1) {
      pos += 8;
    } else if (wt === 5) {
      pos += 4;
    } else {
      return null;
    }
  }
  if (pos !== end) return null;
  return p;
}

/** Node's Buffer (fast UTF-8 paths); undefined in a browser, where TextEncoder/TextDecoder serve. */
const NodeBuffer: typeof Buffer | undefined = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

function utf8(buf: Uint8Array, start: number, end: number): string {
  if (NodeBuffer !== undefined) return NodeBuffer.prototype.utf8Slice.call(buf, start, end) as string;
  return textDecoder.decode(buf.subarray(start, end));
}

function utf8Length(s: string): number {
  return NodeBuffer !== undefined ? NodeBuffer.byteLength(s) : textEncoder.encode(s).length;
}

function writeUtf8(out: Uint8Array, s: string, pos: number, len: number): number {
  if (NodeBuffer !== undefined) return (out as Buffer).write(s, pos, len, "utf8");
  return textEncoder.encodeInto(s, out.subarray(pos, pos + len)).written;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/**
 * Encodes a packet as one complete frame (length prefix included) in a single allocation.
 * Fields at their default value are omitted, as protobuf does. Node only (a Buffer).
 */
export function encodeFrame(kind: number, id: number, route: string, body: Uint8Array | null, code = 0, message = "", redirect = ""): Buffer {
  return encodeWithPrefix(LENGTH_PREFIX_BYTES, kind, id, route, body, code, message, redirect) as Buffer;
}

/** Most publication ids a client lists in login.ResumeRequest.recent_pubs (the last channel pushes it received). */
export const MAX_RECENT_PUBS = 256;

/** A PUSH frame of a channel message, carrying its publication id `pub` (wire.Packet field 9). */
export function encodeChannelPush(route: string, body: Uint8Array, pub: string): Buffer {
  return encodeWithPrefix(LENGTH_PREFIX_BYTES, PacketKind.PUSH, 0, route, body, 0, "", "", pub) as Buffer;
}

/** Tag of wire.Packet field 8 (seq, varint). */
const SEQ_TAG = 0x40;

/** Bytes the length-prefixed PUSH `frame` takes once stamped with `seq` (see writeStamped). */
export function stampedLength(frame: Uint8Array, seq: number): number {
  return frame.length + 1 + varintSize(seq);
}

/**
 * Writes the length-prefixed PUSH `frame` into `out` at `pos` with `seq` appended as field 8
 * (protobuf fields may come in any order) and its length prefix grown to match; returns the
 * position after it. A channel message or multi-session push is encoded once and shared by
 * every member: each member's seq is added only here, while its socket writer gathers a tick's
 * frames into the one buffer it hands to the socket.
 */
export function writeStamped(out: Uint8Array, pos: number, frame: Uint8Array, seq: number): number {
  out.set(frame, pos);
  const packetBytes = frame.length - LENGTH_PREFIX_BYTES + 1 + varintSize(seq);
  out[pos] = packetBytes >>> 24;
  out[pos + 1] = (packetBytes >>> 16) & 0xff;
  out[pos + 2] = (packetBytes >>> 8) & 0xff;
  out[pos + 3] = packetBytes & 0xff;
  const end = pos + frame.length;
  out[end] = SEQ_TAG;
  return writeVarint(out, end + 1, seq >>> 0);
}

/**
 * A copy of the length-prefixed PUSH `frame` carrying `seq` (see writeStamped), for the cold
 * paths that keep a frame on its own: pushes of away sessions stored for their resume.
 */
export function stampSeq(frame: Uint8Array, seq: number): Buffer {
  const out = NodeBuffer!.allocUnsafe(stampedLength(frame, seq));
  writeStamped(out, 0, frame, seq);
  return out;
}

/**
 * A copy of a frame made by {@link stampSeq} with `seq` carrying `newSeq` instead (a session
 * adopted from a dead gateway numbers its kept pushes from 1; its resume renumbers them after the
 * client's last seq).
 */
export function restampSeq(stamped: Uint8Array, seq: number, newSeq: number): Buffer {
  return stampSeq(stamped.subarray(0, stamped.length - 1 - varintSize(seq)), newSeq);
}

/**
 * Encodes one wire.Packet without a length prefix (a WebSocket message carries exactly one).
 * Runs in browsers too: a Buffer under Node, a plain Uint8Array elsewhere.
 */
export function encodePacket(kind: number, id: number, route: string, body: Uint8Array | null, code = 0, message = "", redirect = ""): Uint8Array {
  return encodeWithPrefix(0, kind, id, route, body, code, message, redirect);
}

function encodeWithPrefix(
  prefixBytes: number,
  kind: number,
  id: number,
  route: string,
  body: Uint8Array | null,
  code: number,
  message: string,
  redirect: string,
  pub = "",
): Uint8Array {
  const routeLen = route.length === 0 ? 0 : utf8Length(route);
  const bodyLen = body === null ? 0 : body.length;
  const msgLen = message.length === 0 ? 0 : utf8Length(message);
  const redirectLen = redirect.length === 0 ? 0 : utf8Length(redirect);
  const pubLen = pub.length === 0 ? 0 : utf8Length(pub);
  let size = 0;
  if (kind !== 0) size += 1 + varintSize(kind);
  if (id !== 0) size += 1 + varintSize(id);
  if (routeLen !== 0) size += 1 + varintSize(routeLen) + routeLen;
  if (bodyLen !== 0) size += 1 + varintSize(bodyLen) + bodyLen;
  if (code !== 0) size += 1 + varintSize(code);
  if (msgLen !== 0) size += 1 + varintSize(msgLen) + msgLen;
  if (redirectLen !== 0) size += 1 + varintSize(redirectLen) + redirectLen;
  if (pubLen !== 0) size += 1 + varintSize(pubLen) + pubLen;
  const out = NodeBuffer !== undefined ? NodeBuffer.allocUnsafe(prefixBytes + size) : new Uint8Array(prefixBytes + size);
  if (prefixBytes !== 0) new DataView(out.buffer, out.byteOffset, prefixBytes).setUint32(0, size);
  let pos = prefixBytes;
  if (kind !== 0) {
    out[pos++] = 0x08;
    pos = writeVarint(out, pos, kind);
  }
  if (id !== 0) {
    out[pos++] = 0x10;
    pos = writeVarint(out, pos, id >>> 0);
  }
  if (routeLen !== 0) {
    out[pos++] = 0x1a;
    pos = writeVarint(out, pos, routeLen);
    pos += writeUtf8(out, route, pos, routeLen);
  }
  if (bodyLen !== 0) {
    out[pos++] = 0x22;
    pos = writeVarint(out, pos, bodyLen);
    out.set(body!, pos);
    pos += bodyLen;
  }
  if (code !== 0) {
    out[pos++] = 0x28;
    pos = writeVarint(out, pos, code);
  }
  if (msgLen !== 0) {
    out[pos++] = 0x32;
    pos = writeVarint(out, pos, msgLen);
    pos += writeUtf8(out, message, pos, msgLen);
  }
  if (redirectLen !== 0) {
    out[pos++] = 0x3a;
    pos = writeVarint(out, pos, redirectLen);
    pos += writeUtf8(out, redirect, pos, redirectLen);
  }
  if (pubLen !== 0) {
    out[pos++] = 0x4a;
    pos = writeVarint(out, pos, pubLen);
    writeUtf8(out, pub, pos, pubLen);
  }
  return out;
}
