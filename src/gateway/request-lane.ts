import type { RouteInfo } from "./route-cache.js";

/**
 * A request (or NOTIFY) held back until the previous message of its session to the same module
 * is answered.
 */
export interface QueuedRequest {
  /** Client request id, or 0 for a NOTIFY (see forwarder's NOTIFY_ID). */
  readonly id: number;
  readonly info: RouteInfo;
  /** A copy of the body: the frame it came in is reused once the frame handler returns. */
  readonly body: Uint8Array;
}

/**
 * The requests and notifies of one session to one module, in the order the client sent them: at most one is
 * forwarded at a time, the others wait here (pomelo's `serial` filter, done in the gateway so
 * no module has to care). The queue is bounded by the session's in-flight limit, because a
 * queued request counts as in flight. A plain array with a head index: no allocation while the
 * lane is idle, which is the fast path.
 */
export class RequestLane {
  /** A request of this lane is forwarded and not yet answered (or timed out). */
  busy = false;
  private queue: QueuedRequest[] = [];
  private head = 0;

  /** Requests waiting behind the busy one. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Queues a request; its body is copied. */
  push(id: number, info: RouteInfo, body: Uint8Array): void {
    this.queue.push({ id, info, body: Buffer.from(body) });
  }

  /** The next waiting request, or null when none waits. */
  shift(): QueuedRequest | null {
    if (this.head === this.queue.length) return null;
    const next = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return next;
  }

  /** Drops every waiting request (their session closed); returns how many were dropped. */
  clear(): number {
    const n = this.waiting;
    this.queue = [];
    this.head = 0;
    this.busy = false;
    return n;
  }
}
