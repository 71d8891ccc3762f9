import { WebSocket } from "ws";
import { LENGTH_PREFIX_BYTES } from "../../src/protocol/framing.js";
import { encodeFrame } from "../../src/protocol/packet.js";
import { PacketInbox } from "./gateway-raw-client.js";

/** How a WebSocket ended, as the client saw it. */
export interface WsClosed {
  code: number;
  reason: string;
}

/** One wire.Packet without its length prefix: the body of a binary WebSocket message. */
export function packetBytes(kind: number, id: number, route: string, body: Uint8Array | null = null): Buffer {
  return encodeFrame(kind, id, route, body).subarray(LENGTH_PREFIX_BYTES);
}

/**
 * A bare WebSocket client (the `ws` package) speaking the wire protocol: one packet per binary
 * message. For gateway tests; the SDK's WebSocket transport is tested on its own.
 */
export class RawWsClient extends PacketInbox {
  readonly ws: WebSocket;
  /** Resolves with the close code and reason once the WebSocket is closed. */
  readonly closed: Promise<WsClosed>;
  /** Text messages received (the gateway sends none). */
  readonly texts: string[] = [];

  private constructor(ws: WebSocket) {
    super();
    this.ws = ws;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.texts.push(data.toString());
      else if (!this.received(data)) ws.terminate();
    });
    ws.on("error", () => {});
    this.closed = new Promise((resolve) => ws.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens `url` (e.g. ws://127.0.0.1:PORT/ws); rejects when the upgrade fails. */
  static connect(url: string, options: { localAddress?: string; rejectUnauthorized?: boolean } = {}): Promise<RawWsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
      ws.once("open", () => resolve(new RawWsClient(ws)));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
  }

  send(kind: number, id: number, route: string, body: Uint8Array | null = null): void {
    this.ws.send(packetBytes(kind, id, route, body));
  }

  /** Sends raw bytes as one binary message. */
  sendBytes(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.terminate();
  }
}
