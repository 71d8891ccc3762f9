import type { TraceContext } from "../tracing/trace-context.js";
import type { NatsConnection } from "nats";
import type { Redis } from "ioredis";
import type { z } from "zod";
import type { Logger } from "../log/logger.js";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { cluster } from "../generated/proto.js";
import type { OnlineTable } from "./online-table.js";
import type { ReplyType, RequestType, ServiceRef } from "./service-ref.js";

/** The client session a request came from, as stamped by its gateway. */
export interface SessionRef {
  readonly gatewayId: string;
  /** Session id, unique within its gateway. */
  readonly sid: number;
  /** Bound user id, or null before login. */
  readonly uid: string | null;
  /**
   * The client's IP address as its gateway saw it (for per-address limits); absent on sessions
   * a module built itself, "" when a call did not come through a gateway.
   */
  readonly address?: string;
}

/**
 * Who made a trusted call: a module instance (module-to-module call) or an operator (`ctl call`,
 * module "ctl"). Stamped by the caller's host on the trusted subjects (`mod.*`), which gateways
 * cannot publish to, so a client can never appear as a caller.
 */
export interface CallerRef {
  readonly module: string;
  readonly instanceId: string;
}

/** A client session that ended on a gateway (`uid` is "" when it never logged in). */
export type SessionClosedEvent = Readonly<cluster.SessionClosed>;

/** A session that was bound to a uid (a login) on a gateway. */
export type SessionOpenedEvent = Readonly<cluster.SessionOpened>;

/** Options of a call to another module. */
export interface CallOptions {
  /** Default: the module's callTimeoutMs (5 s). */
  timeoutMs?: number;
  /** Send to one instance's subject instead of the module's queue group. */
  instance?: string;
  /**
   * The client session the call acts for (the callee sees it as `ctx.session`). `ctx.call`
   * passes the calling session by default; `null` acts for no session.
   */
  session?: SessionRef | null;
}

/** A message input: any subset of the message's fields (proto3 defaults fill the rest). */
export type MessageInit<T> = Partial<T>;

/** A timer owned by a module instance; cleared when the instance stops. */
export interface InstanceTimer {
  cancel(): void;
}

/** Routes and pushes a module may use, as `{ route: { req; res } }` and `{ route: Message }`. */
type RouteMap = object;
type PushMap = object;

/** What a module instance offers its hooks and handlers, for the instance's whole life. */
export interface ModuleRuntime<Settings = unknown, R extends RouteMap = RouteMap, P extends PushMap = PushMap> {
  readonly name: string;
  readonly instanceId: string;
  readonly version: string;
  /** modules.<name>.settings from the cluster config, validated by the module's schema. */
  readonly settings: Settings;
  readonly config: ClusterConfig;
  readonly log: Logger;
  readonly nc: NatsConnection;
  /** Shared Redis client of this instance (created on first use). */
  redis(): Redis;
  /** The cluster-wide uid → session table (in Redis). */
  onlineTable(): OnlineTable;
  /** Trusted call to another module's route (the callee sees this module as `ctx.caller`). */
  call<K extends keyof R & string>(route: K, req: MessageInit<RequestType<R, K>>, opts?: CallOptions): Promise<ReplyType<R, K>>;
  /** Pushes a declared push message to sessions on their gateways. */
  push<K extends keyof P & string>(targets: SessionRef | readonly SessionRef[], route: K, msg: MessageInit<P[K]>): void;
  /**
   * Like `push`, with the body already encoded as the route's message: for hot paths that build
   * many bodies from parts encoded once (e.g. scene positions). The route must be declared.
   */
  pushEncoded<K extends keyof P & string>(targets: SessionRef | readonly SessionRef[], route: K, body: Uint8Array): void;
  /**
   * Pushes to a user wherever they are online (looked up in the online table); false if offline.
   * Resolves once the gateway acknowledged it, or, when that gateway is dead, once the push is
   * kept in Redis for the uid's resume (replayed in order by the gateway that adopts or resumes it).
   */
  pushToUid<K extends keyof P & string>(uid: string, route: K, msg: MessageInit<P[K]>): Promise<boolean>;
  /**
   * Pushes one message to many users wherever they are online: one online-table read for all of
   * them and one push command per gateway holding any of them (not one per uid); the message is
   * encoded once. Duplicate uids are pushed once. Acknowledged per gateway like pushToUid: what a
   * gateway did not take (it is gone, or the uid moved) is kept or sent on as pushToUid does.
   * Resolves with the uids that were offline.
   */
  pushToUids<K extends keyof P & string>(uids: readonly string[], route: K, msg: MessageInit<P[K]>): Promise<string[]>;
  /** Publishes a declared push to every member of a channel, on every gateway. */
  publish<K extends keyof P & string>(channel: string, route: K, msg: MessageInit<P[K]>, excludeUids?: string[]): void;
  /** Closes a session (KICK packet with the reason, then close). */
  kick(target: SessionRef, code: number, reason: string): Promise<void>;
  /** Closes the session of a user wherever it is; false if offline. */
  kickUid(uid: string, code: number, reason: string): Promise<boolean>;
  /** Adds a session to a channel (acknowledged by its gateway). */
  joinChannel(session: SessionRef, channel: string): Promise<void>;
  leaveChannel(session: SessionRef, channel: string): Promise<void>;
  /**
   * Calls `handler` when a client session ends on any gateway. `"one"`: one instance of this
   * module hears each event (queue group, e.g. cleaning shared state); `"every"`: every instance
   * does (each checks whether it holds something of that session, e.g. a room seat).
   * Registering also makes this instance a candidate sweeper (one instance of the cluster holds
   * the lease): sessions of a gateway that died are adopted by a live gateway (or released) and
   * announced as closed once (see GatewaySweeper).
   */
  onSessionClosed(delivery: "one" | "every", handler: (closed: SessionClosedEvent) => void): void;
  /** Calls `handler` when a session is bound to a uid on any gateway (a login); delivery as above. */
  onSessionOpened(delivery: "one" | "every", handler: (opened: SessionOpenedEvent) => void): void;
  /** Runs `fn` every `ms` until cancelled or the instance stops; errors are logged. */
  every(ms: number, fn: () => unknown): InstanceTimer;
  /** Runs `fn` once after `ms` unless cancelled or the instance stops first; errors are logged. */
  after(ms: number, fn: () => unknown): InstanceTimer;
  /** Number of handlers running now. */
  readonly inflight: number;
  /** True once the instance is draining: stop accepting new long-lived work (rooms). */
  readonly draining: boolean;
}

/** What a handler receives with its request. */
/** What a bind did; `resumeCode` is a wire.ErrorCode: OK, or RESYNC when pushes were not all kept. */
export interface BindResult {
  resumeCode: number;
  replayed: number;
}

/** Where a resuming client stands (login.ResumeRequest): its last push seq, and the publication ids of its last channel pushes when it lists them. */
export interface ResumePoint {
  lastSeq: number;
  recentPubs?: readonly string[];
}

export interface HandlerContext<State = unknown, Settings = unknown, R extends RouteMap = RouteMap, P extends PushMap = PushMap> {
  readonly requestId: string;
  /** The client session the request acts for; null when a module or operator called without one. */
  readonly session: SessionRef | null;
  /** The module or operator that made this call on a trusted subject; null for client requests. */
  readonly caller: CallerRef | null;
  /** Child logger bound with the request id. */
  readonly log: Logger;
  /**
   * This handler's span of the request's W3C trace (the gateway starts one per client request;
   * `call` carries it on with this span as the parent); null when the request carried none.
   */
  readonly trace: TraceContext | null;
  /** The instance's state: what `onStart` returned. */
  readonly state: State;
  /** The instance's validated settings (same object as `module.settings`). */
  readonly settings: Settings;
  readonly module: ModuleRuntime<Settings, R, P>;
  /** The session's uid; throws UNAUTHENTICATED when there is none. */
  requireUid(): string;
  /** Throws FORBIDDEN unless the request came from a module or an operator (trusted caller). */
  requireCaller(): CallerRef;
  /** Trusted call to another module, acting for this request's session unless `opts.session` says otherwise. */
  call<K extends keyof R & string>(route: K, req: MessageInit<RequestType<R, K>>, opts?: CallOptions): Promise<ReplyType<R, K>>;
  /** Pushes a declared push message to sessions (e.g. `ctx.session!`). */
  push<K extends keyof P & string>(targets: SessionRef | readonly SessionRef[], route: K, msg: MessageInit<P[K]>): void;
  /**
   * Binds a uid to the calling session: records it in the online table (kicking any older
   * session of that uid, on any gateway) and tells the gateway. Resolves once applied. With
   * `resume`, the gateway first replays the pushes the uid missed after `resume.lastSeq` and
   * restores its channels and pins (README "Resume"); the result says how that went.
   */
  bind(uid: string, resume?: ResumePoint): Promise<BindResult>;
  /** Unbinds the calling session (it stays connected, as if never logged in). */
  unbind(): Promise<void>;
  /**
   * After this reply, the session's requests to this module go to one instance (sticky): this
   * one, or `instanceId` (e.g. the instance that holds the session's room when this one only
   * forwarded the request there with `call(route, req, { instance })`).
   */
  pin(instanceId?: string): void;
  /** After this reply, the session's requests to this module go to the queue group again. */
  unpin(): void;
  /** Adds / removes the calling session to / from a channel. */
  joinChannel(channel: string): Promise<void>;
  leaveChannel(channel: string): Promise<void>;
}

/** One rpc of a service: its request and reply message types. */
export interface RpcTypes {
  req: unknown;
  res: unknown;
}

/** A request handler: returns the reply message or throws SwitchyardError. */
export type Handler<Ctx, Req, Res> = (ctx: Ctx, req: Req) => Promise<MessageInit<Res>> | MessageInit<Res>;

/** One handler per rpc of the module's proto service. */
export type Handlers<M extends Record<keyof M, RpcTypes>, Ctx> = { [K in keyof M]: Handler<Ctx, M[K]["req"], M[K]["res"]> };

/** The runtime type a module's hooks get, for helpers in the module's own files. */
export type RuntimeOf<Svc, Settings = unknown> = Svc extends ServiceRef<string, unknown, infer R, infer P> ? ModuleRuntime<Settings, R & RouteMap, P & PushMap> : never;
/** The context type a module's handlers get, for helpers in the module's own files. */
export type ContextOf<Svc, State = unknown, Settings = unknown> = Svc extends ServiceRef<string, unknown, infer R, infer P> ? HandlerContext<State, Settings, R & RouteMap, P & PushMap> : never;

/**
 * What a module is made of besides its service: version, settings schema, hooks, handlers.
 * M, R and P come from the service descriptor (methods, callable routes, push routes).
 */
export interface ModuleSpec<M extends Record<keyof M, RpcTypes>, R extends RouteMap, P extends PushMap, State, Schema extends z.ZodType> {
  /** Semver of this code; shown by `ctl status`, checked by rollouts. */
  version: string;
  /**
   * Schema of `modules.<name>.settings` (zod, re-exported as `z`): validated and defaulted once
   * when the cluster starts; a wrong value stops the start with the key path and what was expected.
   */
  settings?: Schema;
  /** Runs after connecting and before subscribing: open resources; returns the instance's state. */
  onStart?(rt: ModuleRuntime<z.output<Schema>, R, P>): State | Promise<State>;
  /** One handler per rpc of the service, checked against the proto at compile time. */
  handlers: Handlers<M, HandlerContext<State, z.output<Schema>, R, P>>;
  /**
   * Methods whose handlers issue all their state work before their first `await` (e.g. one
   * Redis script or command, sent synchronously): a session's next request to one of them may
   * start while this one runs, because its work reaches Redis after this one's on the
   * instance's single connection. Replies still go out in arrival order. Every other method
   * runs one at a time per session (README → Writing a module → Ordering and `pipelined`).
   */
  pipelined?: readonly (keyof M & string)[];
  /** Runs when draining starts (new requests have stopped): e.g. stop opening rooms. */
  onDrain?(rt: ModuleRuntime<z.output<Schema>, R, P>, state: State): Promise<void> | void;
  /**
   * Stateful modules: resolves when the instance may exit (e.g. its rooms ended). The host
   * keeps the instance subject served until then or until drainTimeoutMs.
   */
  drained?(rt: ModuleRuntime<z.output<Schema>, R, P>, state: State): Promise<void>;
  /** Runs last, after in-flight requests finished and the instance's timers were cleared. */
  onStop?(rt: ModuleRuntime<z.output<Schema>, R, P>, state: State): Promise<void> | void;
}

/** A module as the host runs it (what `defineModule` returns; types erased). */
export interface ModuleDefinition {
  /** The proto package name; routes are "<name>.<Method>". */
  readonly name: string;
  readonly version: string;
  readonly settings?: z.ZodType;
  readonly handlers: Readonly<Record<string, Handler<HandlerContext, never, unknown>>>;
  readonly pipelined?: readonly string[];
  onStart?(rt: ModuleRuntime): unknown;
  onDrain?(rt: ModuleRuntime, state: unknown): Promise<void> | void;
  drained?(rt: ModuleRuntime, state: unknown): Promise<void>;
  onStop?(rt: ModuleRuntime, state: unknown): Promise<void> | void;
}

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/**
 * Declares a module for a service generated from proto (`services.<package>` of the generated
 * file): the handler set is checked against the proto service, `ctx.state` has the type
 * `onStart` returns, `ctx.settings` the type of the settings schema, `ctx.call` and `ctx.push`
 * accept only declared routes with their message types.
 */
export function defineModule<
  N extends string,
  M extends Record<keyof M, RpcTypes>,
  R extends RouteMap,
  P extends PushMap,
  State = undefined,
  Schema extends z.ZodType = z.ZodObject<{}>,
>(service: ServiceRef<N, M, R, P>, spec: ModuleSpec<M, R, P, State, Schema>): ModuleDefinition {
  if (!SEMVER.test(spec.version)) {
    throw new Error(`module ${service.name}: version "${spec.version}" is not semver (e.g. 1.2.0)`);
  }
  return { name: service.name, ...(spec as unknown as Omit<ModuleDefinition, "name">) };
}
