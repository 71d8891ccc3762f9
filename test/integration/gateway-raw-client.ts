import { connect, type Socket } from "node:net";
import { FrameDecoder } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame, type Packet } from "../../src/protocol/packet.js";

/**
 * What a bare test client received: packets waited for by a predicate. The transport (TCP
 * here, WebSocket in gateway-ws-raw-client.ts) sends and feeds `received`.
 */
export abstract class PacketInbox {
  readonly packets: Packet[] = [];
  private waiters: { match: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];

  abstract send(kind: number, id: number, route: string, body?: Uint8Array | null): void;

  /** Sends a REQUEST and waits for the RESPONSE or ERROR with that id. */
  request(id: number, route: string, body: Uint8Array | null = null, timeoutMs = 3_000): Promise<Packet> {
    const p = this.next((x) => x.id === id && (x.kind === PacketKind.RESPONSE || x.kind === PacketKind.ERROR), timeoutMs);
    this.send(PacketKind.REQUEST, id, route, body);
    return p;
  }

  /** The first packet (already received or to come) matching `match`; consumed. */
  next(match: (p: Packet) => boolean, timeoutMs = 3_000): Promise<Packet> {
    const i = this.packets.findIndex(match);
    if (i >= 0) return Promise.resolve(this.packets.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (p: Packet) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching packet within ${timeoutMs} ms; got ${JSON.stringify(this.packets.map((p) => p.kind))}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Waits for a packet of `kind`. */
  nextKind(kind: number, timeoutMs = 3_000): Promise<Packet> {
    return this.next((p) => p.kind === kind, timeoutMs);
  }

  /** One encoded packet from the gateway; false when it is malformed. */
  protected received(bytes: Uint8Array): boolean {
    const decoded = decodePacket(bytes);
    if (decoded === null) return false;
    const p: Packet = { ...decoded, body: Buffer.from(decoded.body) };
    const i = this.waiters.findIndex((w) => w.match(p));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(p);
    } else {
      this.packets.push(p);
    }
    return true;
  }
}

/**
 * A bare TCP client speaking the wire protocol from src/protocol, for gateway tests (the real
 * SDK lives in src/client; these tests must not depend on it).
 */
export class RawClient extends PacketInbox {
  readonly socket: Socket;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
  private readonly decoder: FrameDecoder;

  private constructor(socket: Socket) {
    super();
    this.socket = socket;
    this.decoder = new FrameDecoder(
      16 << 20,
      (frame) => this.onPacket(frame),
      (err) => socket.destroy(new Error(`bad frame from the gateway: ${err.reason}`)),
    );
    socket.on("data", (chunk: Buffer) => this.decoder.push(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /** Connects to 127.0.0.1:port, from `localAddress` when given (e.g. "127.0.0.2": another client address on loopback). */
  static connect(port: number, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) }, () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  send(kind: number, id: number, route: string, body: Uint8Array | null = null): void {
    this.socket.write(encodeFrame(kind, id, route, body));
  }

  close(): void {
    this.socket.destroy();
  }

  private onPacket(frame: Buffer): void {
    if (!this.received(frame)) this.socket.destroy(new Error("malformed packet from the gateway"));
  }
}
