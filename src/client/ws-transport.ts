import { SwitchyardError } from "../bus/errors.js";
import { PacketKind, decodePacket, encodePacket } from "../protocol/packet.js";
import type { Transport, TransportEvents } from "./transport.js";
import { unrefTimer } from "./timers.js";

/**
 * The part of the WebSocket API this transport uses: the browsers' global WebSocket and the
 * `ws` package's WebSocket (Node) both have it.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** Creates the socket for a URL (the runtime's WebSocket, with its options). */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** How the WebSocket transport connects. */
export interface WsTransportOptions {
  url: string;
  timeoutMs: number;
  maxFrameBytes: number;
  createSocket: WebSocketFactory;
}

/** WebSocket readyState values (the same in every runtime). */
const CLOSED = 3;
/** Close code of a client that is done (RFC 6455 "normal closure"). */
const NORMAL_CLOSURE = 1000;
/** Time a graceful close waits for the gateway's close frame before giving up on it. */
const CLOSE_GRACE_MS = 1_000;

const HEARTBEAT_PACKET = encodePacket(PacketKind.HEARTBEAT, 0, "", null);

/**
 * One WebSocket connection to a gateway: each binary message is one wire.Packet (no length
 * prefix). Runs unchanged in Node (`ws`) and browsers (global WebSocket).
 */
class WsTransport implements Transport {
  readonly address: string;
  readonly ended: Promise<void>;
  private readonly socket: WebSocketLike;
  private readonly events: TransportEvents;
  private readonly maxFrameBytes: number;
  private closeReason: string | null = null;
  private resolveEnded!: () => void;

  constructor(socket: WebSocketLike, opts: WsTransportOptions, events: TransportEvents) {
    this.address = opts.url;
    this.socket = socket;
    this.events = events;
    this.maxFrameBytes = opts.maxFrameBytes;
    this.ended = new Promise<void>((resolve) => {
      this.resolveEnded = resolve;
    });
    socket.onmessage = (ev) => this.onMessage(ev.data);
    socket.onerror = () => this.fail("UNAVAILABLE", "WebSocket error");
    socket.onclose = (ev) => {
      this.resolveEnded();
      this.fail("UNAVAILABLE", `the gateway closed the connection (close code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`);
    };
  }

  get isClosed(): boolean {
    return this.closeReason !== null;
  }

  get reason(): string | null {
    return this.closeReason;
  }

  send(kind: number, id: number, route: string, body: Uint8Array | null): void {
    if (this.closeReason !== null) return;
    this.socket.send(kind === PacketKind.HEARTBEAT ? HEARTBEAT_PACKET : encodePacket(kind, id, route, body));
  }

  close(reason: string, error: SwitchyardError | null): Promise<void> {
    if (this.closeReason !== null) return this.ended;
    this.finish(reason, error);
    // Messages already passed to send() go out before the close frame.
    this.socket.close(NORMAL_CLOSURE);
    const t = setTimeout(() => this.resolveEnded(), CLOSE_GRACE_MS);
    unrefTimer(t);
    return this.ended;
  }

  abort(error: SwitchyardError): void {
    if (this.closeReason !== null) return;
    this.finish(error.message.replace(/^connection closed: /, ""), error);
    this.socket.close(NORMAL_CLOSURE);
  }

  private fail(code: "UNAVAILABLE" | "PROTOCOL", reason: string): void {
    if (this.closeReason !== null) return;
    this.finish(reason, new SwitchyardError(code, `connection closed: ${reason}`));
    if (this.socket.readyState !== CLOSED) this.socket.close(NORMAL_CLOSURE);
  }

  private finish(reason: string, error: SwitchyardError | null): void {
    this.closeReason = reason;
    this.events.onClose(reason, error);
  }

  private onMessage(data: unknown): void {
    if (this.closeReason !== null) return;
    const bytes = messageBytes(data);
    if (bytes === null) {
      this.fail("PROTOCOL", "the gateway sent a text message; every message must be one binary wire.Packet");
      return;
    }
    if (bytes.length > this.maxFrameBytes) {
      this.fail("PROTOCOL", `the gateway sent a message of ${bytes.length} bytes, more than maxFrameBytes (${this.maxFrameBytes})`);
      return;
    }
    const packet = decodePacket(bytes);
    if (packet === null) {
      this.fail("PROTOCOL", "the gateway sent a malformed packet (not a wire.Packet)");
      return;
    }
    this.events.onPacket(packet);
  }
}

/** The bytes of a binary message (binaryType "arraybuffer"; `ws` may hand a Buffer), null for text. */
function messageBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  return null;
}

/**
 * Opens a WebSocket to `opts.url`. Rejects with UNAVAILABLE naming the URL when the
 * connection fails or is not open within `timeoutMs`.
 */
export function openWsTransport(opts: WsTransportOptions, events: TransportEvents): Promise<Transport> {
  return new Promise<Transport>((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = opts.createSocket(opts.url);
    } catch (err) {
      reject(new SwitchyardError("BAD_REQUEST", `cannot open a WebSocket to "${opts.url}": ${(err as Error).message}`, { cause: err }));
      return;
    }
    socket.binaryType = "arraybuffer";
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      socket.onopen = socket.onclose = null;
      // `ws` emits an "error" event when a connecting socket is closed: it needs a listener.
      socket.onerror = () => undefined;
      socket.close();
      reject(new SwitchyardError("UNAVAILABLE", `cannot connect to ${opts.url}: ${why}; is a gateway with WebSocket listening there? Start a cluster with \`npm start\``));
    };
    const timer = opts.timeoutMs > 0 ? setTimeout(() => fail(`no answer within ${opts.timeoutMs} ms`), opts.timeoutMs) : null;
    socket.onerror = (ev) => fail(errorText(ev));
    socket.onclose = (ev) => fail(`closed before opening (close code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`);
    socket.onopen = () => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      socket.onopen = null;
      resolve(new WsTransport(socket, opts, events));
    };
  });
}

/** The `ws` package's error event carries a message; a browser's carries none. */
function errorText(ev: unknown): string {
  const message = (ev as { message?: unknown } | null)?.message;
  return typeof message === "string" && message !== "" ? message : "the WebSocket failed to open";
}
