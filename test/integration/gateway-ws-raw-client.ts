import { connect as netConnect, type Socket } from "node:net";
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
  static connect(url: string, options: { localAddress?: string; ca?: Buffer; perMessageDeflate?: boolean } = {}): Promise<RawWsClient> {
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

/** WebSocket opcodes (RFC 6455 §5.2). */
export const WsOpcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One client-to-server WebSocket frame, masked as RFC 6455 requires (or not, to break the rule). */
export function clientFrame(opcode: number, payload: Uint8Array, options: { fin?: boolean; masked?: boolean; rsv?: number } = {}): Buffer {
  const fin = options.fin ?? true;
  const masked = options.masked ?? true;
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (masked ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  head[1] = (masked ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  else if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  const body = Buffer.from(payload);
  if (masked) {
    const key = head.subarray(head.length - 4);
    key.writeUInt32BE((Math.random() * 0x100000000) >>> 0);
    for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i & 3]!;
  }
  return Buffer.concat([head, body]);
}

/** A TCP socket after an HTTP request to the WebSocket port: the response head and the bytes after it. */
export interface RawHttp {
  socket: Socket;
  /** Status line and headers of the response. */
  head: string;
  status: number;
}

/**
 * Sends `request` (raw bytes: an upgrade, a plain GET, garbage) to 127.0.0.1:port and resolves
 * once the response head arrived (or the socket closed without one: status 0).
 */
export function rawHttp(port: number, request: string | Buffer): Promise<RawHttp> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: "127.0.0.1" }, () => socket.write(request));
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      const head = got.subarray(0, end).toString("latin1");
      resolve({ socket, head, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => resolve({ socket, head: got.toString("latin1"), status: 0 }));
  });
}

/** A valid upgrade request for `path` (plus extra header lines). */
export function upgradeRequest(path: string, extra: string[] = []): string {
  return [`GET ${path} HTTP/1.1`, "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", ...extra, "", ""].join("\r\n");
}
