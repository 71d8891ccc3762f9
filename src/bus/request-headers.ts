import type { Msg } from "nats";
import { Header } from "./headers.js";
import { natsFastPaths, rawHeaderLength, rawMessageBytes } from "./nats-internals.js";

/** The identity fields a module reads from a forwarded request ("" when absent). */
export interface RequestHeaders {
  gateway: string;
  sid: string;
  uid: string;
  /** Client address stamped by the gateway. */
  address: string;
  requestId: string;
  /** Calling "<module>/<instanceId>" of a trusted call; believed only on `mod.*` subjects. */
  caller: string;
  /** W3C `traceparent` of the request ("" when the sender set none). */
  traceparent: string;
  /** Set when the message carries a status line (e.g. 503 no responders) instead of our headers. */
  status: number;
}

const CR = 13;
const LF = 10;
const COLON = 58;
const SPACE = 32;
const KEYS: readonly [string, keyof Omit<RequestHeaders, "status">][] = [
  [Header.gateway, "gateway"],
  [Header.session, "sid"],
  [Header.uid, "uid"],
  [Header.address, "address"],
  [Header.requestId, "requestId"],
  [Header.caller, "caller"],
  [Header.traceparent, "traceparent"],
];
const KEY_BYTES = KEYS.map(([k]) => Buffer.from(k, "latin1"));

/**
 * Reads the session headers stamped by a gateway. Every module request pays for this, and
 * nats.js' `msg.headers` builds a Map of arrays of every header, lower-cases and trims them:
 * about a tenth of a module's CPU per request. This scans the header bytes once for the
 * keys we stamp (raw bytes from nats-internals.ts), falling back to `msg.headers` when the
 * startup self-check turned the fast path off or the library's layout differs.
 * Returns null when the message has no headers.
 */
export function readRequestHeaders(msg: Msg): RequestHeaders | null {
  if (!natsFastPaths.read) return viaLibrary(msg);
  const hdrLen = rawHeaderLength(msg);
  const data = rawMessageBytes(msg);
  if (hdrLen === -2 || data === undefined) return viaLibrary(msg);
  if (hdrLen < 0) return null;
  const out: RequestHeaders = { gateway: "", sid: "", uid: "", address: "", requestId: "", caller: "", traceparent: "", status: 0 };
  // first line: "NATS/1.0" optionally followed by " <status> <description>"
  let pos = 0;
  while (pos < hdrLen && data[pos] !== CR) pos++;
  if (pos > 9 && data[8] === SPACE) out.status = Number(Buffer.prototype.latin1Slice.call(data, 9, Math.min(pos, 12)));
  pos += 2;
  while (pos < hdrLen) {
    let end = pos;
    while (end < hdrLen && data[end] !== CR) end++;
    if (end === pos) break; // blank line: end of headers
    const field = matchKey(data, pos, end);
    if (field !== null) {
      let v = pos + KEY_BYTES[field]!.length + 1;
      while (v < end && data[v] === SPACE) v++;
      out[KEYS[field]![1]] = Buffer.prototype.utf8Slice.call(data, v, end);
    }
    pos = end + 2;
    if (data[end + 1] !== LF) return viaLibrary(msg);
  }
  return out;
}

function matchKey(data: Uint8Array, start: number, end: number): number | null {
  for (let k = 0; k < KEY_BYTES.length; k++) {
    const key = KEY_BYTES[k]!;
    const n = key.length;
    if (start + n >= end || data[start + n] !== COLON) continue;
    let i = 0;
    while (i < n && data[start + i] === key[i]) i++;
    if (i === n) return k;
  }
  return null;
}

function viaLibrary(msg: Msg): RequestHeaders | null {
  const h = msg.headers;
  if (h === undefined) return null;
  return {
    gateway: h.get(Header.gateway),
    sid: h.get(Header.session),
    uid: h.get(Header.uid),
    address: h.get(Header.address),
    requestId: h.get(Header.requestId),
    caller: h.get(Header.caller),
    traceparent: h.get(Header.traceparent),
    status: h.code,
  };
}
