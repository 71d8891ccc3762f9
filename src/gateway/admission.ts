import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import { ErrorCode } from "../protocol/errors.js";
import type { GatewayDirectory } from "../bus/gateway-directory.js";
import type { Logger } from "../log/logger.js";
import { LENGTH_PREFIX_BYTES } from "../protocol/framing.js";
import { PacketKind, encodeFrame } from "../protocol/packet.js";
import { AddressCounter } from "./address-counter.js";
import { CLOSE_GRACE_MS, type Transport } from "./session.js";
import { WsCloseCode, closeReason } from "./ws-session.js";
import { RefusalReason } from "../metrics/gateway-metrics.js";

/** Why a new connection gets no session: its KICK. */
export interface Refusal {
  code: number;
  reason: string;
  /** Another gateway's address for this transport, or "". */
  redirect: string;
  /** Its label in `switchyard_gateway_refusals_total`. */
  metric: RefusalReason;
}

/** What the admission reads of its gateway at each new connection. */
export interface AdmissionState {
  /** True while draining or stopped. */
  readonly closing: boolean;
  readonly sessionCount: number;
}

/** The KICK reason of a gateway shutting down. */
export const SHUTTING_DOWN = "gateway shutting down";

/**
 * Decides whether a new connection (TCP or WebSocket) opens a session: the gateway must be
 * running and below `maxConnections`, the client address below `maxConnectionsPerAddress` (both
 * transports count together). A full or shutting-down gateway names another gateway to go to.
 */
export class Admission {
  private readonly gatewayId: string;
  private readonly maxConnections: number;
  private readonly perAddress: AddressCounter;
  private readonly perAddressMessage: string;
  private readonly directory: GatewayDirectory;
  private readonly log: Logger;

  constructor(gatewayId: string, limits: { maxConnections: number; maxConnectionsPerAddress: number }, directory: GatewayDirectory, log: Logger) {
    this.gatewayId = gatewayId;
    this.maxConnections = limits.maxConnections;
    this.perAddress = new AddressCounter(limits.maxConnectionsPerAddress);
    this.perAddressMessage = `too many connections from your address (limit ${limits.maxConnectionsPerAddress} per gateway): close some before opening more`;
    this.directory = directory;
    this.log = log;
  }

  /** Null when the connection may open a session (then it is counted for `address`), else its KICK. */
  admit(gateway: AdmissionState, address: string, transport: Transport): Refusal | null {
    if (gateway.closing) return { code: ErrorCode.UNAVAILABLE, reason: SHUTTING_DOWN, redirect: this.redirectFor(transport), metric: RefusalReason.draining };
    if (gateway.sessionCount >= this.maxConnections) {
      this.log.warn({ max: this.maxConnections }, "connection refused: gateway full (maxConnections)");
      return { code: ErrorCode.UNAVAILABLE, reason: "gateway full", redirect: this.redirectFor(transport), metric: RefusalReason.gatewayFull };
    }
    if (!this.perAddress.open(address)) {
      if (this.log.isLevelEnabled("debug")) this.log.debug({ address, max: this.perAddress.limit }, "connection refused: maxConnectionsPerAddress");
      return { code: ErrorCode.RATE_LIMITED, reason: this.perAddressMessage, redirect: "", metric: RefusalReason.perAddress };
    }
    return null;
  }

  /** Forgets a closed session's connection (one that `admit` let in). */
  release(address: string): void {
    this.perAddress.close(address);
  }

  /** Another ready gateway that is not full, as a client of `transport` connects to it; "" if none. */
  redirectFor(transport: Transport): string {
    const other = this.directory.leastLoaded(this.gatewayId);
    if (other === null) return "";
    if (transport === "ws") return other.ws ?? "";
    const host = other.tcp.host.includes(":") ? `[${other.tcp.host}]` : other.tcp.host;
    return `${host}:${other.tcp.port}`;
  }
}

/** Answers a TCP connection the gateway will not hold with a KICK, then closes it. */
export function refuseTcp(socket: Socket, r: Refusal): void {
  socket.on("error", () => socket.destroy());
  socket.end(encodeFrame(PacketKind.KICK, 0, "", null, r.code, r.reason, r.redirect));
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

/** Answers a WebSocket the gateway will not hold with a KICK message and a close frame. */
export function refuseWebSocket(ws: WebSocket, socket: Socket, r: Refusal): void {
  ws.on("error", () => socket.destroy());
  ws.send(encodeFrame(PacketKind.KICK, 0, "", null, r.code, r.reason, r.redirect).subarray(LENGTH_PREFIX_BYTES));
  ws.close(WsCloseCode.kickBase + r.code, closeReason(r.reason));
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}
