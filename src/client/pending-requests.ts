import { SwitchyardError } from "../protocol/errors.js";
import { unrefTimer, type TimerHandle } from "./timers.js";

/** Largest request id: ids are uint32 on the wire and 0 means "no request". */
export const MAX_REQUEST_ID = 0xffff_ffff;

/**
 * Shortest gap between two timeout sweeps. Under load many deadlines fall within a few ms of
 * each other; sweeping at most this often keeps the sweep cost O(in-flight) per gap, not per
 * request, at the price of rejecting a request up to this late.
 */
const MIN_SWEEP_GAP_MS = 10;

/** One request waiting for its RESPONSE or ERROR. */
interface Waiter {
  readonly route: string;
  /** The encoded request (a reference, not a copy), kept to send it again after a gateway move. */
  readonly body: Uint8Array | null;
  /** Its packet number on the connection it was sent on (0: unknown), to resend in send order. */
  readonly sent: number;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: (body: Uint8Array) => void;
  readonly reject: (err: SwitchyardError) => void;
}

/** A request taken out by {@link PendingRequests.takeAll}: its id, what to send, its promise's settlers. */
export interface TakenRequest extends Waiter {
  readonly id: number;
}

/**
 * The in-flight requests of one connection, by request id. Allocates ids (an incrementing uint32
 * that skips 0 and ids still in flight, wrapping at 2^32-1) and enforces timeouts with one
 * shared timer instead of one timer per request.
 */
export class PendingRequests {
  private readonly waiters = new Map<number, Waiter>();
  private lastId: number;
  private timer: TimerHandle | null = null;
  /** When the scheduled sweep fires (ms since epoch), or +Infinity when none is scheduled. */
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly now: () => number;
  /** Called after a sweep rejected requests that timed out (their slots are free). */
  onExpired: (() => void) | null = null;

  /**
   * @param firstId the id after which allocation starts (tests use it to exercise the wrap)
   * @param now clock, injectable for tests
   */
  constructor(firstId = 0, now: () => number = Date.now) {
    this.lastId = firstId >>> 0;
    this.now = now;
  }

  /** Requests waiting for a reply. */
  get size(): number {
    return this.waiters.size;
  }

  /** True while request `id` waits for its reply. */
  has(id: number): boolean {
    return this.waiters.has(id);
  }

  /** Returns the next free request id: 1, 2, … 2^32-1, 1, … skipping ids still in flight. */
  nextId(): number {
    if (this.waiters.size >= MAX_REQUEST_ID) {
      throw new SwitchyardError("RATE_LIMITED", "every request id is in flight: wait for replies before sending more");
    }
    let id = this.lastId;
    do {
      id = id >= MAX_REQUEST_ID ? 1 : id + 1;
    } while (this.waiters.has(id));
    this.lastId = id;
    return id;
  }

  /**
   * Registers request `id` (from {@link nextId}) and returns the promise of its reply body.
   * The promise rejects with TIMEOUT after `timeoutMs` (no timeout when `timeoutMs` <= 0).
   * `body` is kept (not copied) for {@link takeAll}: it must not change until the reply.
   */
  add(id: number, route: string, timeoutMs: number, body: Uint8Array | null = null, sent = 0): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const deadline = timeoutMs > 0 ? this.now() + timeoutMs : Number.POSITIVE_INFINITY;
      this.waiters.set(id, { route, body, sent, deadline, timeoutMs, resolve, reject });
      if (deadline < this.timerAt) this.schedule(deadline);
    });
  }

  /**
   * Takes every waiting request out of the table, in the order they were added (a gateway
   * move: they were never read there and are sent again elsewhere); their promises stay
   * pending, and no timeout runs for them until {@link readd}.
   */
  takeAll(): TakenRequest[] {
    this.clearTimer();
    const out: TakenRequest[] = [];
    for (const [id, w] of this.waiters) out.push({ id, ...w });
    this.waiters.clear();
    return out;
  }

  /**
   * Puts a taken request back under its id with its original deadline (one already past
   * rejects with TIMEOUT at once); false when the id is in use (the request is then failed).
   */
  readd(r: TakenRequest): boolean {
    if (this.waiters.has(r.id)) {
      r.reject(new SwitchyardError("INTERNAL", `request id ${r.id} (${r.route}) is in use again after a gateway move: the request was not sent again`));
      return false;
    }
    const { id, ...w } = r;
    this.waiters.set(id, w);
    if (w.deadline <= this.now()) {
      this.sweep();
      return true;
    }
    if (w.deadline < this.timerAt) this.schedule(w.deadline);
    return true;
  }

  /** Settles request `id` with its reply body; false when no such request is waiting. */
  resolve(id: number, body: Uint8Array): boolean {
    const w = this.waiters.get(id);
    if (w === undefined) return false;
    this.waiters.delete(id);
    w.resolve(body);
    return true;
  }

  /** Fails request `id`; false when no such request is waiting. */
  reject(id: number, err: SwitchyardError): boolean {
    const w = this.waiters.get(id);
    if (w === undefined) return false;
    this.waiters.delete(id);
    w.reject(err);
    return true;
  }

  /** Fails every waiting request with the error `make` builds for it, and stops the timer. */
  rejectAll(make: (route: string) => SwitchyardError): void {
    this.clearTimer();
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of all) w.reject(make(w.route));
  }

  private schedule(at: number): void {
    this.clearTimer();
    if (at === Number.POSITIVE_INFINITY) return;
    this.timerAt = at;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, at - this.now()));
    // The socket keeps the process alive while requests are in flight; the timer need not.
    unrefTimer(this.timer);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Rejects every expired request and schedules the next sweep at the earliest deadline left. */
  private sweep(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    let expired = false;
    for (const [id, w] of this.waiters) {
      if (w.deadline <= now) {
        expired = true;
        this.waiters.delete(id);
        w.reject(
          new SwitchyardError(
            "TIMEOUT",
            `no reply to ${w.route} (request id ${id}) within ${w.timeoutMs} ms: the outcome is unknown, retry if the call is idempotent`,
          ),
        );
      } else if (w.deadline < next) {
        next = w.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.schedule(Math.max(next, now + MIN_SWEEP_GAP_MS));
    if (expired) this.onExpired?.();
  }
}
