import { instanceSubject } from "../bus/subjects.js";
import type { RouteInfo } from "./route-cache.js";

/**
 * A request (or NOTIFY) held back until its lane may send it: behind the previous message of
 * its session to the same module while no instance is known to take them in order, or a
 * pipelined request that found no instance and is sent again.
 */
export interface QueuedRequest {
  /** Client request id, or 0 for a NOTIFY (see forwarder's NOTIFY_ID). */
  readonly id: number;
  readonly info: RouteInfo;
  /** A copy of the body: the frame it came in is reused once the frame handler returns. */
  readonly body: Uint8Array;
}

/**
 * How long a lane with nothing out keeps sending straight to the instance that answered it
 * last. Past it the next request goes to the module's queue group again, so an idle session is
 * placed anew (an instance added since gets its share). A draining instance keeps its instance
 * subscription until it has been quiet this long (see the module host).
 */
export const AFFINITY_IDLE_MS = 50;

/**
 * The requests and notifies of one session to one ordered module, in the order the client sent
 * them. Order holds because every message of the lane that is out at one time is handled by one
 * instance, which runs a session's requests one after another in arrival order (the module
 * host's per-session queue), and NATS delivers one publisher's messages in order:
 *
 * - Nothing out, no instance known: the next message goes to the module's queue group
 *   (`svc.<module>.<Method>`), the ones after it wait here. Its answer names the instance
 *   (`sy-inst`): everything waiting is then sent straight to `inst.<id>.<Method>` at once, and so
 *   is every later message while that instance keeps answering (pipelining: no round trip per
 *   message, the batching of an unordered module).
 * - Back to one message at a time through the queue group after a TIMEOUT or UNAVAILABLE, when
 *   the instance says it drains (`sy-inst` empty), after AFFINITY_IDLE_MS with nothing out, and
 *   always while the session is pinned to an instance for this module.
 * - A message sent straight to an instance that no longer subscribes (no responders: it was
 *   never delivered) is sent again: the lane stops sending until everything out has settled,
 *   then sends the bounced messages first, in their order, one at a time.
 *
 * The queue is bounded by the session's in-flight limit, because a queued request counts as in
 * flight. Plain arrays with a head index: no allocation while nothing waits, the fast path.
 */
export class RequestLane {
  /** Messages of this lane sent and not yet settled. */
  out = 0;
  /** The instance that named itself last, or null: send through the queue group, one at a time. */
  private instance: string | null = null;
  /** method → `inst.<instance>.<method>`, for `instance`. */
  private subjects = new Map<string, string>();
  /** When `out` last fell to 0 (ms, the clock the forwarder passes in). */
  private idleAt = 0;
  /** Set when a pipelined message bounced: nothing is sent until `out` is 0. */
  private blocked = false;
  private queue: QueuedRequest[] = [];
  private head = 0;
  /** Bounced messages in send order, sent again first once `out` is 0. */
  private bounced: QueuedRequest[] | null = null;

  /** Messages waiting to be sent (queued or bounced). */
  get waiting(): number {
    return this.queue.length - this.head + (this.bounced?.length ?? 0);
  }

  /** The instance messages go straight to, or null (for tests and logs). */
  get pipelinedTo(): string | null {
    return this.instance;
  }

  /** Nothing out and nothing waiting. */
  get idle(): boolean {
    return this.out === 0 && this.waiting === 0;
  }

  /**
   * Where a message for `info` may be sent now, or null when it must wait: the known instance's
   * subject, else (nothing out) `pinned` when the session is pinned for this module, else the
   * route's queue-group subject. Does not look at what waits (see `mayPass`).
   */
  target(info: RouteInfo, pinned: string | null, now: number): string | null {
    if (this.blocked) return null;
    if (pinned !== null) {
      this.instance = null;
      return this.out === 0 ? pinned : null;
    }
    if (this.instance !== null) {
      if (this.out > 0 || now - this.idleAt <= AFFINITY_IDLE_MS) return this.subjectFor(info.method);
      this.instance = null;
    }
    return this.out === 0 ? info.subject : null;
  }

  /** True when a newly arrived message may be sent before anything that waits (nothing waits). */
  get mayPass(): boolean {
    return this.queue.length === this.head && this.bounced === null;
  }

  /** Counts one message as sent. */
  sent(): void {
    this.out++;
  }

  /**
   * One message of the lane settled. `named`: the instance its answer named (undefined: none,
   * "": it drains); `lost`: TIMEOUT or UNAVAILABLE (the instance may be gone).
   */
  settled(named: string | undefined, lost: boolean, now: number): void {
    this.out--;
    if (lost) this.instance = null;
    else if (named !== undefined && !this.blocked) this.follow(named === "" ? null : named);
    if (this.out === 0) this.becameQuiet(now);
  }

  /** A message sent straight to the instance found no subscriber: it will be sent again. */
  bounce(q: QueuedRequest, now: number): void {
    this.out--;
    this.blocked = true;
    this.instance = null;
    (this.bounced ??= []).push(q);
    if (this.out === 0) this.becameQuiet(now);
  }

  /** Queues a message; its body is copied. */
  enqueue(id: number, info: RouteInfo, body: Uint8Array): void {
    this.queue.push({ id, info, body: Buffer.from(body) });
  }

  /** The next waiting message without taking it, or null. */
  peek(): QueuedRequest | null {
    if (this.bounced !== null) return this.bounced[0]!;
    return this.head === this.queue.length ? null : this.queue[this.head]!;
  }

  /** Takes the next waiting message (bounced ones first), or null when none waits. */
  shift(): QueuedRequest | null {
    const b = this.bounced;
    if (b !== null) {
      const q = b.shift()!;
      if (b.length === 0) this.bounced = null;
      return q;
    }
    if (this.head === this.queue.length) return null;
    const next = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return next;
  }

  /** Drops every waiting message (their session closed); returns how many were dropped. */
  clear(): number {
    const n = this.waiting;
    this.queue = [];
    this.head = 0;
    this.bounced = null;
    this.blocked = false;
    this.instance = null;
    return n;
  }

  private becameQuiet(now: number): void {
    this.idleAt = now;
    this.blocked = false;
  }

  private follow(instance: string | null): void {
    if (instance === this.instance) return;
    this.instance = instance;
    if (this.subjects.size > 0) this.subjects = new Map();
  }

  private subjectFor(method: string): string {
    let s = this.subjects.get(method);
    if (s === undefined) {
      s = instanceSubject(this.instance!, method);
      this.subjects.set(method, s);
    }
    return s;
  }
}
