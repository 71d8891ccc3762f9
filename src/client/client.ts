import { SwitchyardError, codeName, type ErrorCodeName } from "../bus/errors.js";
import type { Routes } from "../generated/proto.js";
import { PacketKind, type Packet } from "../protocol/packet.js";
import type { MessageCodec, ProtoRegistry } from "../proto/codecs.js";
import { Heartbeat, MISSED_HEARTBEATS_LIMIT } from "./heartbeat.js";
import type { ResolvedCoreOptions } from "./options.js";
import { PendingRequests } from "./pending-requests.js";
import { PushRouter, type RawPushHandler, type Unsubscribe } from "./push-router.js";
import { redirectTarget } from "./redirect.js";
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
  private readonly requests = new PendingRequests();
  private readonly pushes: PushRouter;
  private readonly kickHandlers: { handlers: KickHandler[] } = { handlers: [] };
  private readonly closeHandlers: { handlers: CloseHandler[] } = { handlers: [] };
  private readonly errorHandlers: { handlers: ErrorHandler[] } = { handlers: [] };
  private conn: Transport | null = null;
  private resolveClosed!: (err: SwitchyardError | null) => void;

  constructor(opts: ResolvedCoreOptions, registry: ProtoRegistry, openTarget: TargetOpener) {
    this.opts = opts;
    this.registry = registry;
    this.openTarget = openTarget;
    this.pushes = new PushRouter((err, route) => this.report(err, `push handler for ${route}`));
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.heartbeat = new Heartbeat(opts.heartbeatMs, {
      sendHeartbeat: () => this.conn?.send(PacketKind.HEARTBEAT, 0, "", null),
      onDead: (silentMs) => {
        const reason = `no traffic from the gateway for ${silentMs} ms (${MISSED_HEARTBEATS_LIMIT} heartbeats): it is unreachable or stuck`;
        this.conn?.abort(new SwitchyardError("UNAVAILABLE", `connection closed: ${reason}`));
      },
    });
  }

  async open(target: GatewayTarget): Promise<void> {
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
    this.conn?.send(kind, id, route, body);
  }

  /** The connection is gone (and no redirect is under way to replace it). */
  private get gone(): boolean {
    return this.redirecting === null && (this.conn === null || this.conn.isClosed);
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
    let id: number;
    try {
      id = this.requests.nextId();
    } catch (err) {
      return Promise.reject(err);
    }
    const reply = this.requests.add(id, route, opts?.timeoutMs ?? this.opts.requestTimeoutMs);
    this.sendPacket(PacketKind.REQUEST, id, route, body);
    return reply;
  }

  notify<R extends Route>(route: R, msg: Partial<RequestOf<R>>): void {
    const codec = this.registry.route<RequestOf<R>, unknown>(route);
    if (codec === null) throw this.unknownRoute(route);
    this.notifyRaw(route, codec.request.encode(msg));
  }

  notifyRaw(route: string, body: Uint8Array): void {
    if (this.gone) throw this.closedError();
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

  async close(): Promise<void> {
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
        return;
      case PacketKind.ERROR: {
        if (p.id !== 0) this.sentBeforeReply = null;
        const err = SwitchyardError.fromWire(p.code, p.message);
        // An error for a request that already timed out is dropped, like a late RESPONSE.
        if (p.id === 0) this.report(err, "gateway");
        else this.requests.reject(p.id, err);
        return;
      }
      case PacketKind.PUSH:
        this.pushes.dispatch(p.route, p.body);
        return;
      case PacketKind.KICK:
        this.onKickPacket(p.code, p.message, p.redirect);
        return;
      default:
        // HEARTBEAT (the read itself proved liveness) and kinds newer than this SDK.
        return;
    }
  }

  private onKickPacket(code: number, message: string, redirectTo: string): void {
    const name = codeName(code);
    const redirect = redirectTarget(redirectTo);
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
    void this.conn?.close(`kicked by the gateway: ${name}: ${err.message}`, err);
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
          if (p.kind !== PacketKind.REQUEST || this.requests.has(p.id)) this.conn?.send(p.kind, p.id, p.route, p.body);
        }
      },
      (err: unknown) => {
        this.redirecting = null;
        const e = SwitchyardError.from(err);
        this.onConnectionClose(`redirect to ${describeTarget(target)} failed: ${e.message}`, e);
      },
    );
  }

  private onConnectionClose(reason: string, error: SwitchyardError | null): void {
    this.heartbeat.stop();
    this.requests.rejectAll(() => new SwitchyardError("UNAVAILABLE", `connection closed: ${reason}`));
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
