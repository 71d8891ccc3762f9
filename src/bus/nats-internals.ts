import { SystemSubject } from "./subjects.js";
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from "nats";

// Every reliance of Switchyard on nats.js internals (pinned: nats 2.29.x) is in this file.
// Two fast paths depend on them, each with a fallback through the library's public API:
// - read: a received message keeps its raw bytes in `_rdata` and its header length in
//   `_msg.hdr` (request-headers.ts scans them instead of building `msg.headers`);
// - write: `publish` only calls `encode()` on the headers object it is given, and `MsgHdrs`
//   from `headers()` has that `encode()` (encoded-headers.ts hands pre-encoded bytes over).
// `checkNatsFastPaths` proves both on a live connection at startup and turns a path off when
// the library no longer behaves that way: slower, still correct.
// A third, for module instances: every message sent goes through `nc.protocol.publish`, which
// `hookEverySend` wraps (and proves) so Redis writes held for batching leave first.

/** Which header fast paths are in use (both on until a startup self-check finds otherwise). */
export interface NatsFastPaths {
  /** Module side: header bytes scanned in place instead of nats.js' header decoding. */
  read: boolean;
  /** Gateway side: headers encoded once per session instead of once per publish. */
  write: boolean;
  /** True once `checkNatsFastPaths` ran in this process. */
  checked: boolean;
  /** Why a path is off ("" while both are on). */
  reason: string;
}

/** The process-wide state of the fast paths (read on every message: one boolean each). */
export const natsFastPaths: NatsFastPaths = { read: true, write: true, checked: false, reason: "" };

/** The nats.js 2.x layout of a received message. */
interface RawMsg {
  _msg?: { hdr?: number };
  _rdata?: Uint8Array;
}

/**
 * Length of the header block at the start of `rawMessageBytes(msg)`: -1 for a message without
 * headers, -2 when the library's message layout is not the expected one.
 */
export function rawHeaderLength(msg: Msg): number {
  const hdr = (msg as unknown as RawMsg)._msg?.hdr;
  return typeof hdr === "number" ? hdr : -2;
}

/** The bytes nats.js received for `msg` (header block, then payload), when it keeps them. */
export function rawMessageBytes(msg: Msg): Uint8Array | undefined {
  const data = (msg as unknown as RawMsg)._rdata;
  return data instanceof Uint8Array ? data : undefined;
}

/** What `publish` asks of a headers object: it calls `encode()` once and sends the bytes. */
class EncodedHeaders {
  private readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  encode(): Uint8Array {
    return this.bytes;
  }
}

/** Headers for `publish` made of bytes already encoded; only `encode()` may be called on it. */
export function preEncodedHeaders(bytes: Uint8Array): MsgHdrs {
  return new EncodedHeaders(bytes) as unknown as MsgHdrs;
}

/** The wire bytes nats.js gives for `h` (the same `encode()` that `publish` calls). */
export function libraryHeaderBytes(h: MsgHdrs): Uint8Array {
  return (h as unknown as EncodedHeaders).encode();
}

let running: Promise<NatsFastPaths> | null = null;

/**
 * Proves both fast paths on `nc` once per process: publishes pre-encoded headers to a private
 * inbox and checks that nats.js decodes them (write path) and that the raw header bytes of the
 * received message are where the read path looks (read path). A path that fails is turned off
 * and `warn` is told why. Resolves with the state (also in `natsFastPaths`).
 */
export function checkNatsFastPaths(nc: NatsConnection, warn: (reason: string) => void = () => undefined): Promise<NatsFastPaths> {
  running ??= selfCheck(nc).then((failures) => {
    natsFastPaths.checked = true;
    if (failures.read !== "") natsFastPaths.read = false;
    if (failures.write !== "") natsFastPaths.write = false;
    natsFastPaths.reason = [failures.read, failures.write].filter((r) => r !== "").join("; ");
    if (natsFastPaths.reason !== "") warn(`nats.js header fast path off (requests still work, with more CPU): ${natsFastPaths.reason}`);
    return natsFastPaths;
  });
  return running;
}

async function selfCheck(nc: NatsConnection): Promise<{ read: string; write: string }> {
  const h = natsHeaders();
  h.set("sy-check", "fast-path");
  let encoded: Uint8Array;
  try {
    encoded = libraryHeaderBytes(h);
    if (!(encoded instanceof Uint8Array)) throw new Error("encode() gave no bytes");
  } catch (err) {
    const why = `MsgHdrs.encode() is gone (${(err as Error).message})`;
    return { read: `cannot check the read path: ${why}`, write: why };
  }
  // A subject every role may publish and subscribe to (an inbox may not be published to).
  const subject = `${SystemSubject.selfCheckPrefix}.${createInbox().slice("_INBOX.".length)}`;
  const got = new Promise<Msg | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 5_000);
    nc.subscribe(subject, {
      max: 1,
      callback: (_err, m) => {
        clearTimeout(timer);
        resolve(m);
      },
    });
  });
  let refused = "";
  try {
    nc.publish(subject, new Uint8Array([1]), { headers: preEncodedHeaders(encoded) });
  } catch (err) {
    refused = `publish refused pre-encoded headers (${(err as Error).message})`;
    nc.publish(subject, new Uint8Array([1]), { headers: h });
  }
  const msg = await got;
  if (msg === null) return { read: "the self-check message did not come back within 5 s", write: "the self-check message did not come back within 5 s" };
  const write = refused !== "" ? refused : msg.headers?.get("sy-check") === "fast-path" ? "" : "publish did not send pre-encoded headers as given";
  const len = rawHeaderLength(msg);
  const data = rawMessageBytes(msg);
  const read =
    len === encoded.length && data !== undefined && Buffer.from(data.subarray(0, len)).equals(Buffer.from(encoded))
      ? ""
      : "a received message no longer keeps its raw header bytes (_rdata, _msg.hdr)";
  return { read, write };
}

/** nats.js 2.x: every message a connection sends (publish, request, Msg.respond) goes through this. */
interface ProtocolPublisher {
  publish(subject: string, payload?: Uint8Array, options?: unknown): void;
}

function protocolOf(nc: NatsConnection): ProtocolPublisher | null {
  const p = (nc as unknown as { protocol?: Partial<ProtocolPublisher> }).protocol;
  return typeof p?.publish === "function" ? (p as ProtocolPublisher) : null;
}

/**
 * Runs `before` ahead of every message `nc` sends (nc.publish, nc.request, Msg.respond all end in
 * the connection's protocol handler's `publish`, wrapped here), then proves it on the live
 * connection: a publish and a respond must each have called it. Resolves "" when it holds; else
 * the reason, with the wrapper removed (the caller then does without whatever needed the hook).
 */
export async function hookEverySend(nc: NatsConnection, before: () => void): Promise<string> {
  const protocol = protocolOf(nc);
  if (protocol === null) return "the connection has no protocol handler with publish()";
  const original = protocol.publish;
  // subjects sent while the self-check runs (then no longer recorded)
  const seen = new Set<string>();
  let recording = true;
  protocol.publish = function (this: ProtocolPublisher, subject: string, payload?: Uint8Array, options?: unknown): void {
    before();
    if (recording) seen.add(subject);
    original.call(this, subject, payload, options);
  };
  const undo = (why: string): string => {
    recording = false;
    protocol.publish = original;
    return why;
  };
  const subject = `${SystemSubject.selfCheckPrefix}.${createInbox().slice("_INBOX.".length)}`;
  const replyTo = `${subject}.reply`;
  const answered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5_000);
    nc.subscribe(replyTo, {
      max: 1,
      callback: () => {
        clearTimeout(timer);
        resolve(true);
      },
    });
  });
  nc.subscribe(subject, { max: 1, callback: (_err, m) => m.respond(new Uint8Array([2])) });
  nc.publish(subject, new Uint8Array([1]), { reply: replyTo });
  if (!seen.has(subject)) return undo("nc.publish does not go through protocol.publish");
  if (!(await answered)) return undo("the self-check message was not answered within 5 s");
  if (!seen.has(replyTo)) return undo("Msg.respond does not go through protocol.publish");
  recording = false;
  return "";
}
