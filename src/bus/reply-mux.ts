import type { Msg, MsgHdrs, NatsConnection, Subscription } from "nats";
import { ErrorCode, SwitchyardError } from "./errors.js";
import { Header } from "./headers.js";
import { replyPrefix } from "./subjects.js";

/**
 * Called once per request with the outcome. `code` is 0 on success, else a wire error code
 * (no responders → UNAVAILABLE, deadline passed → TIMEOUT, or the code the responder set).
 * `ctx` is whatever the caller passed in, so hot paths need no closure per request.
 */
export type ReplyHandler<C> = (ctx: C, code: number, message: string, msg: Msg | null) => void;

interface Pending {
  ctx: unknown;
  onReply: ReplyHandler<unknown>;
  deadline: number;
  subject: string;
}

/** Default request timeout, enforced for every call. */
export const DEFAULT_TIMEOUT_MS = 5_000;
const SWEEP_MS = 10;

/**
 * One wildcard reply subscription, a token → pending-request table and one timeout sweep,
 * instead of a promise, a timer and an inbox per request as `nc.request()` does.
 * Used by gateways (forwarding client requests) and modules (calls to other modules).
 */
export class ReplyMux {
  private readonly nc: NatsConnection;
  private readonly prefix: string;
  private readonly sub: Subscription;
  /** One table per timeout value: insertion order is deadline order, so the sweep stops early. */
  private readonly buckets = new Map<number, Map<number, Pending>>();
  private readonly where = new Map<number, Map<number, Pending>>();
  private readonly sweeper: NodeJS.Timeout;
  private next = 1;
  private closed = false;

  constructor(nc: NatsConnection, ownerId: string) {
    this.nc = nc;
    this.prefix = replyPrefix(ownerId) + ".";
    this.sub = nc.subscribe(this.prefix + "*", { callback: (_err, msg) => this.onMessage(msg) });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Number of requests waiting for a reply. */
  get pending(): number {
    return this.where.size;
  }

  /**
   * Publishes `data` to `subject` with a reply token and calls `onReply(ctx, …)` exactly once.
   * Returns the token (also usable as a request id).
   */
  send<C>(
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
    timeoutMs: number,
    ctx: C,
    onReply: ReplyHandler<C>,
  ): number {
    const token = this.next++;
    if (this.closed) {
      onReply(ctx, ErrorCode.UNAVAILABLE, "the connection to the cluster is closing", null);
      return token;
    }
    let bucket = this.buckets.get(timeoutMs);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(timeoutMs, bucket);
    }
    const p: Pending = { ctx, onReply: onReply as ReplyHandler<unknown>, deadline: Date.now() + timeoutMs, subject };
    bucket.set(token, p);
    this.where.set(token, bucket);
    try {
      this.nc.publish(subject, data, headers ? { reply: this.prefix + token, headers } : { reply: this.prefix + token });
    } catch (err) {
      this.settle(token, ErrorCode.UNAVAILABLE, `cannot reach the cluster: ${(err as Error).message}`, null);
    }
    return token;
  }

  /** Promise form of `send`: resolves with the reply or rejects with a SwitchyardError. */
  request(subject: string, data: Uint8Array, headers?: MsgHdrs, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Msg> {
    return new Promise((resolve, reject) => {
      this.send(subject, data, headers, timeoutMs, null, (_ctx, code, message, msg) => {
        if (code === 0 && msg) resolve(msg);
        else reject(SwitchyardError.fromWire(code, message));
      });
    });
  }

  /** Fails every pending request with UNAVAILABLE and stops the subscription. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const token of [...this.where.keys()]) {
      this.settle(token, ErrorCode.UNAVAILABLE, "the connection to the cluster closed", null);
    }
    this.sub.unsubscribe();
  }

  private onMessage(msg: Msg): void {
    const token = Number(msg.subject.slice(this.prefix.length));
    const h = msg.headers;
    if (h === undefined) {
      this.settle(token, 0, "", msg);
      return;
    }
    if (msg.data.length === 0 && h.code === 503) {
      const p = this.where.get(token)?.get(token);
      this.settle(token, ErrorCode.UNAVAILABLE, unavailableMessage(p?.subject), null);
      return;
    }
    const err = h.get(Header.errorCode);
    if (err) {
      this.settle(token, Number(err), h.get(Header.errorMessage), msg);
      return;
    }
    this.settle(token, 0, "", msg);
  }

  private settle(token: number, code: number, message: string, msg: Msg | null): void {
    const bucket = this.where.get(token);
    if (bucket === undefined) return; // late reply after a timeout: dropped
    const p = bucket.get(token)!;
    bucket.delete(token);
    this.where.delete(token);
    p.onReply(p.ctx, code, message, msg);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [timeoutMs, bucket] of this.buckets) {
      for (const [token, p] of bucket) {
        if (p.deadline > now) break;
        this.settle(token, ErrorCode.TIMEOUT, `no answer from ${describe(p.subject)} within ${timeoutMs} ms: the outcome is unknown; retry if the call is idempotent`, null);
      }
    }
  }
}

function describe(subject: string): string {
  const parts = subject.split(".");
  return parts.length >= 3 ? `${parts[1]}.${parts.slice(2).join(".")}` : subject;
}

function unavailableMessage(subject: string | undefined): string {
  if (subject === undefined) return "no instance is running for this request: retry in a moment";
  const parts = subject.split(".");
  if (parts[0] === "inst") return `instance ${parts[1]} is gone: call the module again to be placed on another instance`;
  return `module "${parts[1]}" is not running: retry in a moment, or ask an operator to start it`;
}
