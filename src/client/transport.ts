import type { SwitchyardError } from "../bus/errors.js";
import type { Packet } from "../protocol/packet.js";

/** What a transport reports to the client core. */
export interface TransportEvents {
  /** One decoded packet from the gateway (its body is a view valid for this call). */
  onPacket(packet: Packet): void;
  /** Called exactly once when the connection ends; `error` is null when the client closed it. */
  onClose(reason: string, error: SwitchyardError | null): void;
}

/**
 * One connection to a gateway carrying wire.Packets: TCP frames (Node) or WebSocket messages
 * (Node and browsers). Knows nothing about requests, routes or heartbeat timing.
 */
export interface Transport {
  /** Where it is connected, e.g. "127.0.0.1:3250" or "ws://127.0.0.1:3260/ws". */
  readonly address: string;
  /** True once the connection is closing or closed. */
  readonly isClosed: boolean;
  /** Why the connection ended, or null while it is open. */
  readonly reason: string | null;
  /** Queues one packet for the gateway. */
  send(kind: number, id: number, route: string, body: Uint8Array | null): void;
  /**
   * Closes gracefully (queued packets go out first) and reports `onClose` at once; idempotent,
   * the first reason wins. Resolves when the connection is fully closed.
   */
  close(reason: string, error: SwitchyardError | null): Promise<void>;
  /** Ends the connection at once because of a failure (nothing more is sent). */
  abort(error: SwitchyardError): void;
}

/** Opens a transport; rejects with UNAVAILABLE naming the address when it cannot connect. */
export type TransportOpener = (events: TransportEvents) => Promise<Transport>;
