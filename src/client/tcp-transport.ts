import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { SwitchyardError } from "../bus/errors.js";
import { FrameDecoder } from "../protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame } from "../protocol/packet.js";
import { FrameWriter } from "./frame-writer.js";
import type { Transport, TransportEvents } from "./transport.js";

/** How the TCP transport connects. */
export interface TcpTransportOptions {
  host: string;
  port: number;
  timeoutMs: number;
  maxFrameBytes: number;
  /** TLS options, or null for plain TCP. */
  tls: TlsConnectionOptions | null;
}

/** Time a graceful close waits for the gateway to finish the TCP close before dropping it. */
const CLOSE_GRACE_MS = 1_000;

/** A heartbeat frame never changes: encode it once. */
const HEARTBEAT_FRAME = encodeFrame(PacketKind.HEARTBEAT, 0, "", null);

/**
 * One TCP connection to a gateway (Node): frames in (FrameDecoder + decodePacket), coalesced
 * frames out (FrameWriter). Knows nothing about requests or routes.
 */
class TcpTransport implements Transport {
  readonly address: string;
  private readonly socket: Socket;
  private readonly writer: FrameWriter;
  private readonly events: TransportEvents;
  private closeReason: string | null = null;
  /** Resolves when the socket is fully closed. */
  readonly ended: Promise<void>;

  constructor(socket: Socket, opts: TcpTransportOptions, events: TransportEvents) {
    this.address = `${opts.host}:${opts.port}`;
    this.socket = socket;
    this.events = events;
    this.writer = new FrameWriter(socket);
    const decoder = new FrameDecoder(
      opts.maxFrameBytes,
      (frame) => this.onFrame(frame),
      (err) =>
        this.fail(
          "PROTOCOL",
          err.reason === "oversized"
            ? `the gateway sent a frame of ${err.declaredBytes} bytes, more than maxFrameBytes (${opts.maxFrameBytes})`
            : "the gateway sent an empty frame",
        ),
    );
    this.ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => decoder.push(chunk));
    socket.on("error", (err) => this.fail("UNAVAILABLE", `socket error: ${err.message}`, err));
    socket.on("close", () => this.fail("UNAVAILABLE", "the gateway closed the connection"));
  }

  /** True once the connection is closing or closed. */
  get isClosed(): boolean {
    return this.closeReason !== null;
  }

  /** Why the connection ended, or null while it is open. */
  get reason(): string | null {
    return this.closeReason;
  }

  /** Queues one packet; it goes out with the others queued in this tick. */
  send(kind: number, id: number, route: string, body: Uint8Array | null): void {
    this.writer.write(kind === PacketKind.HEARTBEAT ? HEARTBEAT_FRAME : encodeFrame(kind, id, route, body));
  }

  /**
   * Closes the connection: flushes queued frames, ends the socket and reports `onClose` at once.
   * Idempotent; the first reason wins.
   */
  close(reason: string, error: SwitchyardError | null = null): Promise<void> {
    if (this.closeReason !== null) return this.ended;
    this.writer.flush();
    this.finish(reason, error);
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    t.unref();
    return this.ended;
  }

  abort(error: SwitchyardError): void {
    if (this.closeReason !== null) return;
    this.finish(error.message.replace(/^connection closed: /, ""), error);
    this.socket.destroy();
  }

  /** Ends the connection because of a failure (no graceful flush). */
  private fail(code: "UNAVAILABLE" | "PROTOCOL", reason: string, cause?: unknown): void {
    if (this.closeReason !== null) return;
    this.finish(reason, new SwitchyardError(code, `connection closed: ${reason}`, cause === undefined ? undefined : { cause }));
    this.socket.destroy();
  }

  private finish(reason: string, error: SwitchyardError | null): void {
    this.closeReason = reason;
    this.writer.close();
    this.events.onClose(reason, error);
  }

  private onFrame(frame: Buffer): void {
    if (this.closeReason !== null) return;
    const packet = decodePacket(frame);
    if (packet === null) {
      this.fail("PROTOCOL", "the gateway sent a malformed packet (not a wire.Packet)");
      return;
    }
    this.events.onPacket(packet);
  }
}

/**
 * Opens a TCP connection to the gateway in `opts`. Rejects with UNAVAILABLE naming the address
 * when nothing listens there or the connection is not established within `timeoutMs`.
 */
export function openTcpTransport(opts: TcpTransportOptions, events: TransportEvents): Promise<Transport> {
  const where = `${opts.host}:${opts.port}`;
  return new Promise<Transport>((resolve, reject) => {
    const socket =
      opts.tls === null
        ? netConnect({ host: opts.host, port: opts.port, noDelay: true })
        : tlsConnect({ servername: isIp(opts.host) ? undefined : opts.host, ...opts.tls, host: opts.host, port: opts.port }).setNoDelay(true);
    const timer =
      opts.timeoutMs > 0
        ? setTimeout(() => {
            socket.destroy();
            reject(new SwitchyardError("UNAVAILABLE", `cannot connect to ${where}: no answer within ${opts.timeoutMs} ms`));
          }, opts.timeoutMs)
        : null;
    const onError = (err: NodeJS.ErrnoException): void => {
      if (timer !== null) clearTimeout(timer);
      const hint =
        err.code === "ECONNREFUSED"
          ? "is the cluster running? start it with `npm start`"
          : err.code === "ENOTFOUND" || err.code === "EAI_AGAIN"
            ? `unknown host "${opts.host}"`
            : opts.tls !== null
              ? `TLS handshake failed (${err.message}): check the gateway's certificate, and the client's tls.ca when it is self-signed`
              : err.message;
      reject(new SwitchyardError("UNAVAILABLE", `cannot connect to ${where}: ${hint}`, { cause: err }));
    };
    socket.once("error", onError);
    socket.once(opts.tls === null ? "connect" : "secureConnect", () => {
      if (timer !== null) clearTimeout(timer);
      socket.off("error", onError);
      resolve(new TcpTransport(socket, opts, events));
    });
  });
}

/** SNI takes host names only. */
function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
