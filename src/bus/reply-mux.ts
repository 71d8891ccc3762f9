import { Events, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "nats";
import { ErrorCode, SwitchyardError } from "../protocol/errors.js";
import { readErrorReply } from "./error-headers.js";
import { replyPrefix } from "./subjects.js";

/**
 * Called once per request with the outcome. `code` is 0 on success, else a wire error code
 * (no responders → UNAVAILABLE with the status message, see `isNoResponders`; deadline passed →
 * TIMEOUT; or the code the responder set).
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
/** A batch this long is handed to nats.js at once instead of waiting for the end of the turn. */
const MAX_BATCH = 1024;
const NO_REPLY = -1;

/** How a ReplyMux publishes. */
export interface ReplyMuxOptions {
  /**
   * Gather the publishes of one event-loop turn and hand them to nats.js together from one
   * `setImmediate` (default false: publish at once). nats.js writes to its socket once per
   * microtask checkpoint, i.e. once per I/O callback: a gateway reading 100 client sockets in
   * one turn made 100 socket writes to NATS; batched it makes one. Order is kept: every
   * publish of this mux (requests and `publish()`) goes through the same queue.
   * Data passed in must stay unchanged until the end of the turn (socket chunks do).
   */
  batch?: boolean;
}

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
  /** The server whose connection dropped, while this process reconnects; null when connected. */
  private disconnectedFrom: string | null = null;
  private readonly batch: boolean;
  /** Queued publishes (batch mode), as parallel arrays: no object per message. */
  private qSubjects: string[] = [];
  private qData: Uint8Array[] = [];
  private qHeaders: (MsgHdrs | undefined)[] = [];
  /** Reply token of each queued publish, or NO_REPLY. */
  private qTokens: number[] = [];
  private flushScheduled = false;
  private readonly flushBound = (): void => this.flush();

  constructor(nc: NatsConnection, ownerId: string, options: ReplyMuxOptions = {}) {
    this.nc = nc;
    this.batch = options.batch === true;
    this.prefix = replyPrefix(ownerId) + ".";
    this.sub = nc.subscribe(this.prefix + "*", { callback: (_err, msg) => this.onMessage(msg) });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    void this.followConnection();
  }

  /**
   * When the connection to a NATS server drops (that node died, say), the replies of the
   * requests already sent through it are lost with it: fail them at once with UNAVAILABLE rather
   * than after their whole timeout. Until the connection is back (and its reply subscription
   * known to the server, one round trip), new requests fail at once too, unsent: a request
   * buffered through the reconnect could be answered before the other nodes learned where the
   * reply goes, and be lost. Requests still queued in this mux go out after the reconnect.
   */
  private async followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.closed) return;
      if (status.type === Events.Disconnect) {
        this.disconnectedFrom = String(status.data);
        const queued = new Set(this.qTokens);
        for (const token of [...this.where.keys()]) {
          if (queued.has(token)) continue;
          this.settle(token, ErrorCode.UNAVAILABLE, `the connection to NATS ${this.disconnectedFrom} was lost while waiting for the answer: the outcome is unknown; retry if the call is idempotent`, null);
        }
      } else if (status.type === Events.Reconnect) {
        // A flush that fails (the new connection dropped too) is followed by its own Disconnect.
        await this.nc.flush().catch(() => undefined);
        this.disconnectedFrom = null;
      }
    }
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
    if (this.disconnectedFrom !== null) {
      onReply(ctx, ErrorCode.UNAVAILABLE, `not sent: reconnecting to NATS (the connection to ${this.disconnectedFrom} was lost); retry`, null);
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
    if (this.batch) this.enqueue(subject, data, headers, token);
    else this.publishNow(subject, data, headers, token);
    return token;
  }

  /**
   * Publishes a message that expects no reply, in order with this mux's requests (batch mode
   * queues it behind them). Throws when the connection is closed, like `nc.publish`.
   */
  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): void {
    if (!this.batch || this.closed) {
      this.nc.publish(subject, data, headers ? { headers } : undefined);
      return;
    }
    if (this.nc.isClosed()) this.nc.publish(subject, data); // throws the connection's error
    this.enqueue(subject, data, headers, NO_REPLY);
  }

  /** Hands every queued publish to nats.js now (batch mode; also run from setImmediate). */
  flush(): void {
    this.flushScheduled = false;
    const n = this.qSubjects.length;
    if (n === 0) return;
    const subjects = this.qSubjects;
    const data = this.qData;
    const headers = this.qHeaders;
    const tokens = this.qTokens;
    this.qSubjects = [];
    this.qData = [];
    this.qHeaders = [];
    this.qTokens = [];
    for (let i = 0; i < n; i++) this.publishNow(subjects[i]!, data[i]!, headers[i], tokens[i]!);
  }

  private enqueue(subject: string, data: Uint8Array, headers: MsgHdrs | undefined, token: number): void {
    this.qSubjects.push(subject);
    this.qData.push(data);
    this.qHeaders.push(headers);
    this.qTokens.push(token);
    if (this.qSubjects.length >= MAX_BATCH) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private publishNow(subject: string, data: Uint8Array, headers: MsgHdrs | undefined, token: number): void {
    try {
      if (token === NO_REPLY) this.nc.publish(subject, data, headers ? { headers } : undefined);
      else this.nc.publish(subject, data, headers ? { reply: this.prefix + token, headers } : { reply: this.prefix + token });
    } catch (err) {
      if (token !== NO_REPLY) this.settle(token, ErrorCode.UNAVAILABLE, `cannot reach the cluster: ${(err as Error).message}`, null);
    }
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
    // Queued requests are failed below with the others; queued notifies are dropped.
    this.qSubjects = [];
    this.qData = [];
    this.qHeaders = [];
    this.qTokens = [];
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
    if (isNoResponders(msg)) {
      const p = this.where.get(token)?.get(token);
      // The status message is passed on: it tells "never delivered" from other UNAVAILABLEs.
      this.settle(token, ErrorCode.UNAVAILABLE, unavailableMessage(p?.subject), msg);
      return;
    }
    const failure = readErrorReply(h);
    if (failure !== null) {
      this.settle(token, failure.code, failure.message, msg);
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

/**
 * True for the server's "no responders" status reply (503, empty body): nobody subscribed to
 * the subject, so the request was delivered to no one and may be sent again.
 */
export function isNoResponders(msg: Msg | null): boolean {
  return msg !== null && msg.data.length === 0 && msg.headers?.code === 503;
}

function describe(subject: string): string {
  const parts = subject.split(".");
  return parts.length >= 3 ? `${parts[1]}.${parts.slice(2).join(".")}` : subject;
}

/** How the answer "no responders" to a gateway's subject (`gw.<id>.…`) begins. */
const GATEWAY_GONE = "no responders: gateway";

/**
 * True when `err` (from `request`) says the gateway's subject had no responders: the gateway is
 * gone (dead or stopped), so nothing sent to it was applied. A timeout or a lost NATS connection
 * is not this: the command may have been applied.
 */
export function isGatewayGone(err: unknown): boolean {
  return err instanceof SwitchyardError && err.code === "UNAVAILABLE" && err.message.startsWith(GATEWAY_GONE);
}

function unavailableMessage(subject: string | undefined): string {
  if (subject === undefined) return "no instance is running for this request: retry in a moment";
  const parts = subject.split(".");
  if (parts[0] === "gw") return `${GATEWAY_GONE} ${parts[1]} is gone`;
  if (subject === "sys.gateway.adopt") return `${GATEWAY_GONE}s: no gateway adopts sessions (none is running, or resume is off)`;
  if (parts[0] === "inst") return `instance ${parts[1]} is gone: call the module again to be placed on another instance`;
  return `module "${parts[1]}" is not running: retry in a moment, or ask an operator to start it`;
}
