import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { SwitchyardError } from "../protocol/errors.js";
import { FrameDecoder } from "../protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame, type Packet } from "../protocol/packet.js";
import { FrameWriter } from "./frame-writer.js";
import { Heartbeat } from "./heartbeat.js";
import type { ResolvedClientOptions } from "./options.js";

/** What a connection reports to its owner. */
export interface ConnectionEvents {
  /** One decoded packet from the gateway (its body is a view valid for this call). */
  onPacket(packet: Packet): void;
  /** Called exactly once when the connection ends; `error` is null when the client closed it. */
  onClose(reason: string, error: SwitchyardError | null): void;
}

/** Time a graceful close waits for the gateway to finish the TCP close before dropping it. */
const CLOSE_GRACE_MS = 1_000;

/** A heartbeat frame never changes: encode it once. */
const HEARTBEAT_FRAME = encodeFrame(PacketKind.HEARTBEAT, 0, "", null);

/**
 * One TCP connection to a gateway: frames in (FrameDecoder + decodePacket), coalesced frames
 * out (FrameWriter), heartbeats. Knows nothing about requests or routes.
 */
export class Connection {
  private readonly socket: Socket;
  private readonly writer: FrameWriter;
  private readonly heartbeat: Heartbeat;
  private readonly events: ConnectionEvents;
  private closeReason: string | null = null;
  /** Resolves when the socket is fully closed. */
  readonly ended: Promise<void>;

  /** Use {@link openConnection}. */
  constructor(socket: Socket, opts: ResolvedClientOptions, events: ConnectionEvents) {
    this.socket = socket;
    this.events = events;
    this.writer = new FrameWriter(socket);
    this.heartbeat = new Heartbeat(opts.heartbeatMs, {
      sendHeartbeat: () => this.writer.write(HEARTBEAT_FRAME),
      onDead: (silentMs) =>
        this.fail("UNAVAILABLE", `no traffic from the gateway for ${silentMs} ms (3 heartbeats): it is unreachable or stuck`),
    });
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
    socket.on("data", (chunk: Buffer) => {
      this.heartbeat.traffic();
      decoder.push(chunk);
    });
    socket.on("error", (err) => this.fail("UNAVAILABLE", `socket error: ${err.message}`, err));
    socket.on("close", () => this.fail("UNAVAILABLE", "the gateway closed the connection"));
    this.heartbeat.start();
  }

  /** True once the connection is closing or closed. */
  get isClosed(): boolean {
    return this.closeReason !== null;
  }

  /** Why the connection ended, or null while it is open. */
  get reason(): string | null {
    return this.closeReason;
  }

  /** Queues one encoded frame; it goes out with the others queued in this tick. */
  send(frame: Uint8Array): void {
    this.writer.write(frame);
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

  /** Ends the connection because of a failure (no graceful flush). */
  private fail(code: "UNAVAILABLE" | "PROTOCOL", reason: string, cause?: unknown): void {
    if (this.closeReason !== null) return;
    this.finish(reason, new SwitchyardError(code, `connection closed: ${reason}`, cause === undefined ? undefined : { cause }));
    this.socket.destroy();
  }

  private finish(reason: string, error: SwitchyardError | null): void {
    this.closeReason = reason;
    this.heartbeat.stop();
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
export function openConnection(opts: ResolvedClientOptions, events: ConnectionEvents): Promise<Connection> {
  const where = `${opts.host}:${opts.port}`;
  return new Promise<Connection>((resolve, reject) => {
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
      resolve(new Connection(socket, opts, events));
    });
  });
}

/** SNI takes host names only. */
function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}
