import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import { LENGTH_PREFIX_BYTES } from "../protocol/framing.js";
import { CLOSE_GRACE_MS, Session, type SessionContext, type Transport } from "./session.js";
import type { WritableSocket } from "./socket-writer.js";

/** WebSocket close codes: a KICK closes with KICK_CLOSE_BASE + its ErrorCode. */
export const WsCloseCode = {
  /** Normal closure (a close without a KICK code). */
  normal: 1000,
  /** Added to a KICK's ErrorCode: PROTOCOL (10) closes with 4010. */
  kickBase: 4000,
} as const;

/** Longest close reason a WebSocket close frame can carry (RFC 6455: 125 bytes minus the code). */
const MAX_CLOSE_REASON_BYTES = 123;

const BINARY = { binary: true } as const;

/** The session of a WebSocket accepted by a gateway, kept on the WebSocket (see `wsSessionOf`). */
const WS_SESSION = Symbol("switchyard.wsSession");

type SessionWebSocket = WebSocket & { [WS_SESSION]?: WsSession };

/** The session of a gateway's WebSocket, or undefined (lets listeners be shared, no closure per socket). */
export function wsSessionOf(ws: WebSocket): WsSession | undefined {
  return (ws as SessionWebSocket)[WS_SESSION];
}

/**
 * A session carried by WebSocket: one wire.Packet per binary message. Framing, limits, identity
 * and ordering are the Session's; only receiving (whole messages), the output socket and the
 * close (a close frame with a code) differ.
 */
export class WsSession extends Session {
  readonly ws: WebSocket;

  /** `socket` is the upgraded TCP socket under `ws` (its address, its destruction). */
  constructor(sid: number, socket: Socket, ws: WebSocket, ctx: SessionContext, now: number, address: string) {
    super(sid, socket, ctx, now, address);
    this.ws = ws;
    (ws as SessionWebSocket)[WS_SESSION] = this;
  }

  override get transport(): Transport {
    return "ws";
  }

  /** A WebSocket session is fed whole messages (`receiveMessage`), never a byte stream. */
  override receive(): void {
    throw new Error("a WebSocket session receives whole messages: call receiveMessage");
  }

  /** Reads no more messages (a drain). */
  override pauseReading(): void {
    this.ws.pause();
  }

  /** Sends the close frame (4000 + code, or 1000) with the reason; destroyed after a grace. */
  override end(code: number, reason: string): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    this.ws.close(code === 0 ? WsCloseCode.normal : WsCloseCode.kickBase + code, closeReason(reason));
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  protected override outputSocket(): WritableSocket {
    return new WsOutput(this.ws, this.socket);
  }
}

/**
 * What the session's SocketWriter writes to: each length-prefixed frame of a chunk (the writer
 * may have joined a tick's frames into one buffer) becomes one binary message without its
 * prefix. The TCP socket is corked around a chunk's messages, so a tick's messages leave in one
 * write, as on TCP; pending bytes are the WebSocket's bufferedAmount.
 */
class WsOutput implements WritableSocket {
  private readonly ws: WebSocket;
  private readonly socket: Socket;

  constructor(ws: WebSocket, socket: Socket) {
    this.ws = ws;
    this.socket = socket;
  }

  write(chunk: Uint8Array): boolean {
    const buf = chunk as Buffer;
    const first = LENGTH_PREFIX_BYTES + buf.readUInt32BE(0);
    if (first === buf.length) {
      this.ws.send(buf.subarray(LENGTH_PREFIX_BYTES), BINARY);
      return true;
    }
    // Several frames: one socket write for all their messages (ws corks per message only).
    this.socket.cork();
    let offset = 0;
    while (offset + LENGTH_PREFIX_BYTES <= buf.length) {
      const start = offset + LENGTH_PREFIX_BYTES;
      const end = start + buf.readUInt32BE(offset);
      this.ws.send(buf.subarray(start, end), BINARY);
      offset = end;
    }
    this.socket.uncork();
    return true;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  get destroyed(): boolean {
    return this.socket.destroyed || this.ws.readyState !== this.ws.OPEN;
  }
}

/** `reason` cut to what a close frame can carry, on a character boundary, marked with "…". */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = reason;
  // "…" takes 3 bytes in UTF-8
  while (Buffer.byteLength(cut) > MAX_CLOSE_REASON_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}…`;
}
