import { ErrorCode, SwitchyardError, codeName, type ErrorCodeName } from "../protocol/errors.js";
import type { Routes } from "../generated/proto.js";
import { PacketKind, type Packet } from "../protocol/packet.js";
import type { MessageCodec, ProtoRegistry } from "../proto/codecs.js";
import { Heartbeat, MISSED_HEARTBEATS_LIMIT } from "./heartbeat.js";
import type { ResolvedCoreOptions } from "./options.js";
import { PendingRequests } from "./pending-requests.js";
import { KEPT_NOTIFIES, movedResends, unread, type Resend, type SentNotify } from "./move-resend.js";
import { PushRouter, type RawPushHandler, type Unsubscribe } from "./push-router.js";
import { RecentPubs } from "./recent-pubs.js";
import { redirectTarget } from "./redirect.js";
import { backoffDelay, shouldReconnect, type ReconnectInfo } from "./reconnect.js";
import { describeTarget, type GatewayTarget } from "./target.js";
import type { Transport, TransportEvents } from "./transport.js";

// The transport-free core of the SDK: requests, the pending table, push routing, heartbeats,
// KICK redirects. It imports nothing of Node, so the browser bundle is built from it.

/** A route callable through {@link Client.request}, e.g. "login.Login". */
export type Route = keyof Routes;
/** Request message of a route. */
export type RequestOf<R extends Route> = Routes[R]["req"];
/** Reply message of a route. */
export type ReplyOf<R extends Route> = Routes[R]["res"];

/** Per-request options. */
export interface RequestOptions {
  /** Overrides the client's `requestTimeoutMs` for this request; 0 = no limit. */
  timeoutMs?: number;
}

/** Receives a decoded PUSH message. */
export type PushHandler<T> = (msg: T, route: string) => void;
/**
 * Receives the KICK the gateway sent before closing the connection; `redirect` names another
 * gateway to connect to ("host:port" or a WebSocket URL), "" when none.
 */
export type KickHandler = (code: ErrorCodeName, message: string, redirect: string) => void;
/** Receives why the connection ended; `error` is null when the client closed it itself. */
export type CloseHandler = (reason: string, error: SwitchyardError | null) => void;
/** Receives why the connection dropped; the client is reconnecting (see `reconnect`). */
export type DisconnectHandler = (reason: string, error: SwitchyardError | null) => void;
/** Receives how a reconnect went, once the session is resumed. */
export type ReconnectHandler = (info: ReconnectInfo) => void;
/** Receives errors not tied to a request: ERROR packets with id 0, failing push handlers. */
export type ErrorHandler = (err: SwitchyardError) => void;

/** A connection to a Switchyard gateway. Create one with {@link connect}. */
export interface Client extends AsyncDisposable {
  /** The proto registry used to encode requests and decode replies and pushes. */
  readonly registry: ProtoRegistry;
  /** Requests waiting for a reply. */
  readonly pending: number;
  /** True once the connection is closing or closed. */
  readonly isClosed: boolean;
  /** The gateway connected to ("host:port" or the WebSocket URL), after any redirect. */
  readonly address: string;
  /** Resolves when the connection ends: null when closed by {@link close}, else why (never rejects). */
  readonly closed: Promise<SwitchyardError | null>;

  /**
   * Calls a route and resolves with its decoded reply. Rejects with a SwitchyardError: the
   * gateway's or module's code (ERROR packet), BAD_REQUEST for a route the local proto does
   * not declare, TIMEOUT after `requestTimeoutMs`, UNAVAILABLE when the connection closes.
   */
  request<R extends Route>(route: R, msg: Partial<RequestOf<R>>, opts?: RequestOptions): Promise<ReplyOf<R>>;
  /** Calls any route with an already-encoded body and resolves with the reply's bytes. */
  requestRaw(route: string, body: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;
  /** Sends a fire-and-forget message to a route; throws BAD_REQUEST / UNAVAILABLE at once. */
  notify<R extends Route>(route: R, msg: Partial<RequestOf<R>>): void;
  /** Sends a fire-and-forget message with an already-encoded body. */
  notifyRaw(route: string, body: Uint8Array): void;

  /**
   * Listens to pushes on `route`, decoded as the message its `<Name>Push` service declares
   * (push "game.RoomEvent" carries a game.RoomEvent). Throws when proto/ declares no such push.
   */
  on<T = unknown>(route: string, handler: PushHandler<T>): Unsubscribe;
  /** Listens to pushes on `route`, decoded as message type `typeName`. */
  on<T = unknown>(route: string, typeName: string, handler: PushHandler<T>): Unsubscribe;
  /** Listens to pushes on `route` without decoding them. */
  onRaw(route: string, handler: RawPushHandler): Unsubscribe;
  /** Called when the gateway kicks this connection (before `onClose`). */
  onKick(handler: KickHandler): Unsubscribe;
  /** Called once when the connection ends, after pending requests were rejected. */
  onClose(handler: CloseHandler): Unsubscribe;
  /** Errors not tied to a request; without a handler they become process warnings. */
  onError(handler: ErrorHandler): Unsubscribe;
  /** Called when the connection drops and the client starts reconnecting (option `reconnect`). */
  onDisconnect(handler: DisconnectHandler): Unsubscribe;
  /** Called when a reconnect succeeded (and, when logged in, login.Resume bound the session again). */
  onReconnect(handler: ReconnectHandler): Unsubscribe;
  /** Seq of the last push received (0: none); what login.Resume states after a reconnect. */
  readonly lastSeq: number;

  /** Closes the connection (pending requests reject with UNAVAILABLE); resolves once closed. */
  close(): Promise<void>;
}

/** Reason given when the client closes the connection itself. */
const CLOSED_BY_CLIENT = "closed by the client";

/** Adds a handler to a copy-on-write list and returns its remover. */
function listen<H>(list: { handlers: H[] }, handler: H): Unsubscribe {
  list.handlers = [...list.handlers, handler];
  return () => {
    list.handlers = list.handlers.filter((h) => h !== handler);
  };
}

/** A packet as handed to a transport. */
interface OutgoingPacket {
  kind: number;
  id: number;
  route: string;
  body: Uint8Array;
}

/** A request (or, during a gateway move, a NOTIFY) issued while reconnecting: sent once connected, or failed UNAVAILABLE at the bound. */
interface QueuedRequest {
  kind: "request" | "notify";
  route: string;
  body: Uint8Array;
  timeoutMs: number | undefined;
  resolve: (body: Uint8Array) => void;
  reject: (err: SwitchyardError) => void;
  /** The reconnect bound; null once released into the backlog. */
  timer: ReturnType<typeof setTimeout> | null;
}

const EMPTY_BODY = new Uint8Array(0);
const LOGIN = "login.Login";
const RESUME = "login.Resume";
const LOGOUT = "login.Logout";

/** Opens a transport to one gateway. */
export type TargetOpener = (target: GatewayTarget, events: TransportEvents) => Promise<Transport>;

class ClientImpl implements Client {
  readonly registry: ProtoRegistry;
  readonly closed: Promise<SwitchyardError | null>;
  private readonly opts: ResolvedCoreOptions;
  private readonly openTarget: TargetOpener;
  private readonly heartbeat: Heartbeat;
  /** Redirects followed so far; a redirect is followed only before any reply arrived. */
  private redirects = 0;
  /**
   * Packets sent before the first reply, resent after a redirect (the gateway that redirects a
   * new connection handles none of them); null from the first reply on.
   */
  private sentBeforeReply: OutgoingPacket[] | null = [];
  /** Settles when a redirect in progress has a connection (or failed); null when none. */
  private redirecting: Promise<void> | null = null;
  /** Set once the close was reported: a connection ends once. */
  private ended = false;
  private readonly requests = new PendingRequests();
  private readonly pushes: PushRouter;
  private readonly kickHandlers: { handlers: KickHandler[] } = { handlers: [] };
  private readonly closeHandlers: { handlers: CloseHandler[] } = { handlers: [] };
  private readonly errorHandlers: { handlers: ErrorHandler[] } = { handlers: [] };
  private readonly disconnectHandlers: { handlers: DisconnectHandler[] } = { handlers: [] };
  private readonly reconnectHandlers: { handlers: ReconnectHandler[] } = { handlers: [] };
  private conn: Transport | null = null;
  private resolveClosed!: (err: SwitchyardError | null) => void;
  /** Where the client connects again after a drop (the last target, or a KICK's redirect). */
  private target: GatewayTarget | null = null;
  /** The token of the last successful login.Login / login.Resume, null when logged out. */
  private token: string | null = null;
  lastSeq = 0;
  private readonly recentPubs = new RecentPubs();
  /** Set while reconnecting; requests issued meanwhile wait in `queued`. */
  private reconnecting: Promise<void> | null = null;
  private queued: QueuedRequest[] = [];
  /**
   * What waited for a reconnect, then what was issued after it while some of that still waits:
   * sent in order as replies free slots (at most opts.maxInFlight unanswered).
   */
  private backlog: QueuedRequest[] = [];
  /** Set during a gateway move (KICK MOVED): NOTIFYs are queued too, not refused. */
  private moving = false;
  /** Packets written on the current connection (uint32): compared with a KICK MOVED's read count. */
  private sentCount = 0;
  /** The last NOTIFYs written on the current connection (at most KEPT_NOTIFIES), for a move. */
  private sentNotifies: SentNotify[] = [];
  /** Number of the newest NOTIFY dropped from `sentNotifies`, -1 when none. */
  private forgottenNotify = -1;
  private closing = false;

  constructor(opts: ResolvedCoreOptions, registry: ProtoRegistry, openTarget: TargetOpener) {
    this.opts = opts;
    this.registry = registry;
    this.openTarget = openTarget;
    this.requests.onExpired = () => {
      if (this.backlog.length > 0) this.pumpBacklog();
    };
    this.pushes = new PushRouter((err, route) => this.report(err, `push handler for ${route}`));
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.heartbeat = new Heartbeat(opts.heartbeatMs, {
      sendHeartbeat: () => this.transmit(PacketKind.HEARTBEAT, 0, "", null),
      onDead: (silentMs) => {
        const reason = `no traffic from the gateway for ${silentMs} ms (${MISSED_HEARTBEATS_LIMIT} heartbeats): it is unreachable or stuck`;
        this.conn?.abort(new SwitchyardError("UNAVAILABLE", `connection closed: ${reason}`));
      },
    });
  }

  async open(target: GatewayTarget): Promise<void> {
    this.target = target;
    // A transport may deliver packets (a KICK right after the handshake) before the promise of
    // its opening settles: those wait here, copied, until it is this client's connection.
    let conn: Transport | null = null;
    let early: Packet[] | null = [];
    let earlyClose: { reason: string; error: SwitchyardError | null } | null = null;
    conn = await this.openTarget(target, {
      onPacket: (p) => {
        if (early !== null) early.push({ ...p, body: p.body.slice() });
        else if (this.conn === conn) this.onPacket(p);
      },
      onClose: (reason, error) => {
        if (early !== null) earlyClose = { reason, error };
        else if (this.conn === conn) this.onConnectionClose(reason, error);
      },
    });
    this.conn = conn;
    this.sentCount = 0;
    this.sentNotifies = [];
    this.forgottenNotify = -1;
    this.heartbeat.start();
    const deliverEarly = (): void => {
      const queued = early ?? [];
      early = null;
      for (const p of queued) if (this.conn === conn) this.onPacket(p);
      const closedEarly = earlyClose as { reason: string; error: SwitchyardError | null } | null;
      if (closedEarly !== null && this.conn === conn) this.onConnectionClose(closedEarly.reason, closedEarly.error);
    };
    // After the caller's `await connect()` continuation: handlers it registers see a KICK that came with the handshake.
    if (early.length > 0 || earlyClose !== null) setTimeout(deliverEarly, 0);
    else deliverEarly();
  }

  get address(): string {
    return this.conn?.address ?? "";
  }

  /** Sends (or, while a redirect is under way, queues) one packet. */
  private sendPacket(kind: number, id: number, route: string, body: Uint8Array): void {
    this.sentBeforeReply?.push({ kind, id, route, body });
    this.transmit(kind, id, route, body);
  }

  /** Writes one packet to the connection (if any), numbering it; NOTIFYs are remembered for a move. */
  private transmit(kind: number, id: number, route: string, body: Uint8Array | null): void {
    const conn = this.conn;
    if (conn === null) return;
    const n = (this.sentCount = (this.sentCount + 1) >>> 0);
    if (kind === PacketKind.NOTIFY && body !== null && this.opts.reconnect !== null) {
      const kept = this.sentNotifies;
      if (kept.length >= KEPT_NOTIFIES) this.forgottenNotify = kept.shift()!.n;
      kept.push({ n, route, body });
    }
    conn.send(kind, id, route, body);
  }

  /** The connection is gone (and no redirect is under way to replace it). */
  private get gone(): boolean {
    return this.reconnecting === null && this.redirecting === null && (this.conn === null || this.conn.isClosed);
  }

  get pending(): number {
    return this.requests.size;
  }

  get isClosed(): boolean {
    return this.gone;
  }

  request<R extends Route>(route: R, msg: Partial<RequestOf<R>>, opts?: RequestOptions): Promise<ReplyOf<R>> {
    const codec = this.registry.route<RequestOf<R>, ReplyOf<R>>(route);
    if (codec === null) return Promise.reject(this.unknownRoute(route));
    let body: Uint8Array;
    try {
      body = codec.request.encode(msg);
    } catch (err) {
      return Promise.reject(
        new SwitchyardError("BAD_REQUEST", `cannot encode the request of ${route} as ${codec.request.typeName}: ${(err as Error).message}`, { cause: err }),
      );
    }
    return this.requestRaw(route, body, opts).then((reply) => decodeReply(codec.response, route, reply));
  }

  requestRaw(route: string, body: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    if (this.gone) return Promise.reject(this.closedError());
    if (this.reconnecting !== null) return this.queue(route, body, opts?.timeoutMs);
    if (this.backlog.length > 0) return this.behindBacklog(route, body, opts?.timeoutMs);
    return this.dispatch(route, body, opts);
  }

  private dispatch(route: string, body: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    if (route === LOGIN || route === RESUME || route === LOGOUT) return this.sendTracked(route, body, opts);
    return this.send(route, body, opts);
  }

  /** Sends a request now. */
  private send(route: string, body: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    let id: number;
    try {
      id = this.requests.nextId();
    } catch (err) {
      return Promise.reject(err);
    }
    // the body is kept (no copy) with its packet number: a gateway move sends the unanswered requests again
    const reply = this.requests.add(id, route, opts?.timeoutMs ?? this.opts.requestTimeoutMs, body, this.conn === null ? 0 : (this.sentCount + 1) >>> 0);
    this.sendPacket(PacketKind.REQUEST, id, route, body);
    return reply;
  }

  notify<R extends Route>(route: R, msg: Partial<RequestOf<R>>): void {
    const codec = this.registry.route<RequestOf<R>, unknown>(route);
    if (codec === null) throw this.unknownRoute(route);
    this.notifyRaw(route, codec.request.encode(msg));
  }

  /** Login, Resume and Logout: the token they grant or revoke is what a reconnect resumes with. */
  private async sendTracked(route: string, body: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    if (route === LOGIN) {
      this.lastSeq = 0;
      this.recentPubs.clear();
    }
    const reply = await this.send(route, body, opts);
    if (route === LOGOUT) this.token = null;
    else {
      const codec = this.registry.route<unknown, { token: string }>(LOGIN);
      if (codec !== null) this.token = codec.response.decode(reply).token || null;
    }
    return reply;
  }

  /** Holds a request until the reconnect is done; fails it UNAVAILABLE, unsent, at the bound. */
  private queue(route: string, body: Uint8Array, timeoutMs: number | undefined, kind: QueuedRequest["kind"] = "request"): Promise<Uint8Array> {
    const bound = Math.min(this.opts.reconnect?.windowMs ?? 0, timeoutMs || this.opts.requestTimeoutMs || Number.POSITIVE_INFINITY);
    return new Promise((resolve, reject) => {
      const q: QueuedRequest = {
        kind,
        route,
        body,
        timeoutMs,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.queued = this.queued.filter((x) => x !== q);
          reject(new SwitchyardError("UNAVAILABLE", `not sent: still reconnecting after ${bound} ms (${route}); retry later`));
        }, bound),
      };
      this.queued.push(q);
    });
  }

  /** Sends (or, for a closed client, fails) what waited for the reconnect: into the backlog, in order. */
  private releaseQueued(error: SwitchyardError | null): void {
    const list = this.queued;
    this.queued = [];
    for (const q of list) {
      if (q.timer !== null) clearTimeout(q.timer);
      q.timer = null;
    }
    if (error !== null) {
      for (const q of this.backlog.splice(0)) q.reject(error);
      for (const q of list) q.reject(error);
      return;
    }
    this.backlog.push(...list);
    this.pumpBacklog();
  }

  /** A request (or NOTIFY) issued while the backlog is not empty goes behind it, keeping the order. */
  private behindBacklog(route: string, body: Uint8Array, timeoutMs: number | undefined, kind: QueuedRequest["kind"] = "request"): Promise<Uint8Array> {
    return new Promise((resolve, reject) => this.backlog.push({ kind, route, body, timeoutMs, resolve, reject, timer: null }));
  }

  /** Sends from the backlog while fewer than opts.maxInFlight requests wait for their reply. */
  private pumpBacklog(): void {
    while (this.backlog.length > 0 && this.reconnecting === null && !this.gone && this.requests.size < this.opts.maxInFlight) {
      const q = this.backlog.shift()!;
      if (q.kind === "notify") {
        this.sendPacket(PacketKind.NOTIFY, 0, q.route, q.body);
        q.resolve(EMPTY_BODY);
      } else {
        this.dispatch(q.route, q.body, q.timeoutMs === undefined ? undefined : { timeoutMs: q.timeoutMs }).then(q.resolve, q.reject);
      }
    }
  }

  notifyRaw(route: string, body: Uint8Array): void {
    if (this.gone) throw this.closedError();
    if (this.moving) {
      // sent once the move is done, in order with the requests issued meanwhile
      this.queue(route, body, undefined, "notify").catch((err: unknown) => this.report(err, `NOTIFY ${route} queued during a gateway move`));
      return;
    }
    if (this.reconnecting !== null) throw new SwitchyardError("UNAVAILABLE", `not sent: reconnecting (${route}); retry after onReconnect`);
    if (this.backlog.length > 0) {
      // behind the requests that wait for a slot, so it does not overtake them
      this.behindBacklog(route, body, undefined, "notify").catch((err: unknown) => this.report(err, `NOTIFY ${route} behind the reconnect backlog`));
      return;
    }
    this.sendPacket(PacketKind.NOTIFY, 0, route, body);
  }

  on<T = unknown>(route: string, typeOrHandler: string | PushHandler<T>, maybeHandler?: PushHandler<T>): Unsubscribe {
    const typeName = typeof typeOrHandler === "string" ? typeOrHandler : route;
    const handler = typeof typeOrHandler === "function" ? typeOrHandler : maybeHandler;
    if (typeof handler !== "function") throw new TypeError(`on("${route}", "${typeName}", handler): the handler is missing`);
    const codec = this.pushCodec<T>(route, typeName, typeof typeOrHandler === "string");
    return this.pushes.add(route, (body) => handler(codec.decode(body), route));
  }

  onRaw(route: string, handler: RawPushHandler): Unsubscribe {
    return this.pushes.add(route, handler);
  }

  onKick(handler: KickHandler): Unsubscribe {
    return listen(this.kickHandlers, handler);
  }

  onClose(handler: CloseHandler): Unsubscribe {
    return listen(this.closeHandlers, handler);
  }

  onError(handler: ErrorHandler): Unsubscribe {
    return listen(this.errorHandlers, handler);
  }

  onDisconnect(handler: DisconnectHandler): Unsubscribe {
    return listen(this.disconnectHandlers, handler);
  }

  onReconnect(handler: ReconnectHandler): Unsubscribe {
    return listen(this.reconnectHandlers, handler);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.reconnecting !== null) await this.reconnecting;
    if (this.redirecting !== null) await this.redirecting;
    if (this.conn === null) return;
    await this.conn.close(CLOSED_BY_CLIENT, null);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private onPacket(p: Packet): void {
    this.heartbeat.traffic();
    switch (p.kind) {
      case PacketKind.RESPONSE:
        this.sentBeforeReply = null;
        // A reply to a request that already timed out is dropped: its caller has moved on.
        this.requests.resolve(p.id, p.body);
        if (this.backlog.length > 0) this.pumpBacklog();
        return;
      case PacketKind.ERROR: {
        if (p.id !== 0) this.sentBeforeReply = null;
        const err = SwitchyardError.fromWire(p.code, p.message);
        // An error for a request that already timed out is dropped, like a late RESPONSE.
        if (p.id === 0) this.report(err, "gateway");
        else this.requests.reject(p.id, err);
        if (this.backlog.length > 0) this.pumpBacklog();
        return;
      }
      case PacketKind.PUSH:
        if (p.seq !== 0) {
          // A push at or below the last seq was already handled (a replay overlapping what
          // arrived): dropped, so each push reaches the handlers once.
          if (p.seq <= this.lastSeq && p.seq !== 1) return;
          if (this.lastSeq !== 0 && p.seq !== 1 && p.seq !== this.lastSeq + 1) {
            this.report(new SwitchyardError("RESYNC", `pushes ${this.lastSeq + 1}..${p.seq - 1} were missed: re-read your state`), "push sequence");
          }
          this.lastSeq = p.seq;
        }
        if (p.pub !== "") this.recentPubs.add(p.pub);
        this.pushes.dispatch(p.route, p.body);
        return;
      case PacketKind.KICK:
        this.onKickPacket(p.code, p.message, p.redirect, p.id);
        return;
      default:
        // HEARTBEAT (the read itself proved liveness) and kinds newer than this SDK.
        return;
    }
  }

  private onKickPacket(code: number, message: string, redirectTo: string, read = 0): void {
    const name = codeName(code);
    const redirect = redirectTarget(redirectTo);
    if (redirect !== null) this.target = redirect;
    if (code === ErrorCode.MOVED && this.opts.reconnect !== null && this.sentBeforeReply === null && !this.closing && this.reconnecting === null && this.target !== null) {
      this.move(`${name}: ${message}`, read);
      return;
    }
    if (redirect !== null && this.sentBeforeReply !== null && this.redirects < this.opts.maxRedirects) {
      this.followRedirect(redirect, `${name}: ${message}`);
      return;
    }
    for (const h of this.kickHandlers.handlers) {
      try {
        h(name, message, redirectTo);
      } catch (err) {
        this.report(err, "kick handler");
      }
    }
    const err = SwitchyardError.fromWire(code, message);
    const reason = `kicked by the gateway: ${name}: ${err.message}`;
    // A KICK delivered late (it came with the handshake) may find its close frame already read:
    // the KICK still says why the connection ended.
    if (this.conn?.isClosed === true) this.onConnectionClose(reason, err);
    else void this.conn?.close(reason, err);
  }

  /**
   * A full or draining gateway sent this connection elsewhere before anything was answered:
   * no session state is lost by moving. What was sent so far is sent again there; what is sent
   * meanwhile waits for the new connection.
   */
  private followRedirect(target: GatewayTarget, why: string): void {
    this.redirects++;
    const old = this.conn;
    this.conn = null;
    void old?.close(`redirected to ${describeTarget(target)} (${why})`, null);
    this.redirecting = this.open(target).then(
      () => {
        this.redirecting = null;
        for (const p of this.sentBeforeReply ?? []) {
          if (p.kind !== PacketKind.REQUEST || this.requests.has(p.id)) this.transmit(p.kind, p.id, p.route, p.body);
        }
      },
      (err: unknown) => {
        this.redirecting = null;
        const e = SwitchyardError.from(err);
        this.onConnectionClose(`redirect to ${describeTarget(target)} failed: ${e.message}`, e);
      },
    );
  }

  /**
   * KICK MOVED: the gateway is being replaced and answered everything it read; the KICK's id
   * says how many packets it read. The client connects to the redirect at once (no backoff),
   * resumes, then sends again what the gateway did not read — the requests that got no answer
   * (same ids and deadlines) and the NOTIFYs after the read count, in their send order — then
   * what was issued meanwhile (requests and NOTIFYs, in order). User code sees no failure.
   */
  private move(why: string, read: number): void {
    const old = this.conn;
    this.conn = null;
    this.heartbeat.stop();
    if (this.forgottenNotify >= 0 && unread(this.forgottenNotify, read)) {
      this.report(new SwitchyardError("UNAVAILABLE", `a gateway move: more than ${KEPT_NOTIFIES} NOTIFYs were not read by the gateway; the older ones were not kept and are not sent again`), "gateway move");
    }
    const unanswered = movedResends(read, this.requests.takeAll(), this.sentNotifies);
    this.sentNotifies = [];
    this.moving = true;
    const reason = `moved to ${describeTarget(this.target!)} (${why})`;
    void old?.close(reason, null);
    const error = new SwitchyardError("MOVED", why);
    for (const h of this.disconnectHandlers.handlers) {
      try {
        h(reason, error);
      } catch (err) {
        this.report(err, "disconnect handler");
      }
    }
    this.reconnecting = this.reconnect(reason, error, unanswered);
  }

  private onConnectionClose(reason: string, error: SwitchyardError | null): void {
    if (this.ended) return;
    if (this.reconnecting !== null) {
      // A new connection died while resuming: its requests fail, the next attempt follows.
      this.requests.rejectAll(() => new SwitchyardError("UNAVAILABLE", `connection closed: ${reason}`));
      return;
    }
    const policy = this.opts.reconnect;
    // Only a connection in use (a reply arrived) is reconnected: before that, redirects and
    // maxRedirects decide, and a gateway that cannot be used at all is reported at once.
    const inUse = this.sentBeforeReply === null;
    if (policy !== null && error !== null && inUse && !this.closing && this.target !== null && shouldReconnect(error.code)) {
      this.heartbeat.stop();
      this.requests.rejectAll(() => new SwitchyardError("UNAVAILABLE", `connection lost: ${reason}; the request's outcome is unknown`));
      for (const h of this.disconnectHandlers.handlers) {
        try {
          h(reason, error);
        } catch (err) {
          this.report(err, "disconnect handler");
        }
      }
      this.reconnecting = this.reconnect(reason, error);
      return;
    }
    this.end(reason, error);
  }

  /**
   * Tries again with backoff until connected and resumed, or the attempts or window run out.
   * `unanswered`: a gateway move; the first attempt goes at once and these are sent again
   * after the resume.
   */
  private async reconnect(reason: string, error: SwitchyardError, unanswered: Resend[] | null = null): Promise<void> {
    const policy = this.opts.reconnect!;
    const started = Date.now();
    let last: SwitchyardError = error;
    for (let attempt = 1; attempt <= policy.maxAttempts && !this.closing; attempt++) {
      const wait = unanswered !== null && attempt === 1 ? 0 : backoffDelay(attempt, policy);
      if (Date.now() + wait - started > policy.windowMs) break;
      await new Promise((r) => setTimeout(r, wait));
      if (this.closing) break;
      try {
        this.sentBeforeReply = null;
        await this.open(this.target!);
        const info = await this.resumeSession(attempt, started);
        info.moved = unanswered !== null;
        this.reconnecting = null;
        this.moving = false;
        for (const x of unanswered ?? []) {
          if (x.kind === "notify") this.sendPacket(PacketKind.NOTIFY, 0, x.route, x.body);
          else if (this.requests.readd(x.request)) this.sendPacket(PacketKind.REQUEST, x.request.id, x.request.route, x.request.body!);
        }
        this.releaseQueued(null);
        for (const h of this.reconnectHandlers.handlers) {
          try {
            h(info);
          } catch (err) {
            this.report(err, "reconnect handler");
          }
        }
        return;
      } catch (err) {
        last = SwitchyardError.from(err);
        const conn = this.conn;
        this.conn = null;
        conn?.abort(last);
        if (last.code === "UNAUTHENTICATED" || last.code === "FORBIDDEN") break;
      }
    }
    this.reconnecting = null;
    this.moving = false;
    const closedError = new SwitchyardError("UNAVAILABLE", `connection closed: ${this.closing ? CLOSED_BY_CLIENT : reason}; the request's outcome is unknown`);
    for (const x of unanswered ?? []) if (x.kind === "request") x.request.reject(closedError);
    const gaveUp = this.closing ? null : new SwitchyardError("UNAVAILABLE", `connection closed: ${reason}; reconnecting failed: ${last.message}`);
    this.releaseQueued(gaveUp ?? new SwitchyardError("UNAVAILABLE", `connection closed: ${CLOSED_BY_CLIENT}`));
    this.end(gaveUp?.message ?? CLOSED_BY_CLIENT, gaveUp);
  }

  /** After a reconnect: login.Resume with the token and the last seq, when logged in. */
  private async resumeSession(attempts: number, started: number): Promise<ReconnectInfo> {
    const info: ReconnectInfo = { attempts, downtimeMs: 0, address: this.address, resumed: false, replayed: 0, resync: false, moved: false };
    if (this.token !== null) {
      const codec = this.registry.route<{ token: string; resumePushes: boolean; lastSeq: number; recentPubs: string[]; listsPubs: boolean }, { token: string; resumeCode: number; replayed: number }>(RESUME);
      if (codec === null) throw new SwitchyardError("BAD_REQUEST", `${RESUME} is not in ${this.registry.dir}: cannot resume`);
      const request = { token: this.token, resumePushes: true, lastSeq: this.lastSeq, recentPubs: this.recentPubs.list(), listsPubs: true };
      const reply = codec.response.decode(await this.send(RESUME, codec.request.encode(request)));
      info.resumed = true;
      info.replayed = reply.replayed;
      info.resync = reply.resumeCode !== 0;
    }
    info.downtimeMs = Date.now() - started;
    return info;
  }

  /** The client is closed for good. */
  private end(reason: string, error: SwitchyardError | null): void {
    if (this.ended) return;
    this.ended = true;
    this.heartbeat.stop();
    this.requests.rejectAll(() => new SwitchyardError("UNAVAILABLE", `connection closed: ${reason}`));
    for (const q of this.backlog.splice(0)) q.reject(new SwitchyardError("UNAVAILABLE", `not sent: connection closed: ${reason}`));
    this.pushes.clear();
    this.resolveClosed(error);
    for (const h of this.closeHandlers.handlers) {
      try {
        h(reason, error);
      } catch (err) {
        this.report(err, "close handler");
      }
    }
  }

  /** Hands an error that belongs to no request to the error handlers (or a process warning). */
  private report(err: unknown, where: string): void {
    const e =
      err instanceof SwitchyardError ? err : new SwitchyardError("INTERNAL", `${where} threw: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    if (this.errorHandlers.handlers.length === 0) {
      warn(`${e.code}: ${e.message}`);
      return;
    }
    for (const h of this.errorHandlers.handlers) {
      try {
        h(e);
      } catch {
        // An error handler that throws has nowhere left to report to.
      }
    }
  }

  private closedError(): SwitchyardError {
    return new SwitchyardError("UNAVAILABLE", `connection closed: ${this.conn?.reason ?? "not connected"}`);
  }

  private unknownRoute(route: string): SwitchyardError {
    return new SwitchyardError(
      "BAD_REQUEST",
      `unknown route "${route}": no service in ${this.registry.dir} declares it; check the name ("<module>.<Method>") or use requestRaw for routes added after this build`,
    );
  }

  private pushCodec<T>(route: string, typeName: string, explicit: boolean): MessageCodec<T> {
    const declared = explicit ? null : this.registry.push<T>(route);
    if (declared !== null) return declared;
    try {
      return this.registry.message<T>(typeName);
    } catch (err) {
      const how = explicit
        ? `check the type name`
        : `no <Name>Push service in proto/ declares push "${route}", and no message type has that name: declare it (see README "Writing a module"), pass a type: on("${route}", "<package>.<Message>", handler), or use onRaw`;
      throw new SwitchyardError("BAD_REQUEST", `no message type "${typeName}" in ${this.registry.dir}: ${how}`, { cause: err });
    }
  }
}

function decodeReply<T>(codec: MessageCodec<T>, route: string, body: Uint8Array): T {
  try {
    return codec.decode(body);
  } catch (err) {
    throw new SwitchyardError("INTERNAL", `the reply to ${route} is not a valid ${codec.typeName}: the server and this client disagree on proto/`, {
      cause: err,
    });
  }
}

/** A process warning under Node, console.warn in a browser. */
function warn(text: string): void {
  const proc = (globalThis as { process?: { emitWarning?(w: string, o: { type: string }): void } }).process;
  if (proc?.emitWarning !== undefined) proc.emitWarning(text, { type: "SwitchyardClientWarning" });
  else console.warn(`SwitchyardClientWarning: ${text}`);
}

/**
 * Connects the transport-free core to `target` through `openTarget` (the runtime's
 * transports). The entry points `connect` (Node) and the browser bundle's `connect` call it.
 */
export async function openClient(opts: ResolvedCoreOptions, registry: ProtoRegistry, openTarget: TargetOpener, target: GatewayTarget): Promise<Client> {
  const client = new ClientImpl(opts, registry, openTarget);
  await client.open(target);
  return client;
}
