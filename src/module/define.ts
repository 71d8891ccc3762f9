import type { NatsConnection } from "nats";
import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { cluster, ModuleMethods, Routes } from "../generated/proto.js";
import type { OnlineTable } from "./online-table.js";

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

/** A client session that ended on a gateway (`uid` is "" when it never logged in). */
export type SessionClosedEvent = Readonly<cluster.SessionClosed>;

/** Options of a call to another module. */
export interface CallOptions {
  /** Default: the module's callTimeoutMs (5 s). */
  timeoutMs?: number;
  /** Send to one instance's subject instead of the module's queue group. */
  instance?: string;
}

/** A message input: any subset of the message's fields (proto3 defaults fill the rest). */
export type MessageInit<T> = Partial<T>;

/** What a module instance offers its hooks and handlers, for the instance's whole life. */
export interface ModuleRuntime {
  readonly name: string;
  readonly instanceId: string;
  readonly version: string;
  /** modules.<name>.settings from the cluster config. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly config: ClusterConfig;
  readonly log: Logger;
  readonly nc: NatsConnection;
  /** Shared Redis client of this instance (created on first use). */
  redis(): Redis;
  /** The cluster-wide uid → session table (in Redis). */
  onlineTable(): OnlineTable;
  /** Typed call to another module's route; rejects with SwitchyardError. */
  call<R extends keyof Routes>(route: R, req: MessageInit<Routes[R]["req"]>, opts?: CallOptions, session?: SessionRef | null): Promise<Routes[R]["res"]>;
  /** Pushes `msg` (encoded as the type `typeName`) with `route` to sessions on their gateways. */
  push(targets: SessionRef | SessionRef[], route: string, typeName: string, msg: object): void;
  /** Pushes to a user wherever they are online (looked up in the online table); false if offline. */
  pushToUid(uid: string, route: string, typeName: string, msg: object): Promise<boolean>;
  /** Publishes to every member of a channel, on every gateway. */
  publish(channel: string, route: string, typeName: string, msg: object, excludeUids?: string[]): void;
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
   */
  onSessionClosed(delivery: "one" | "every", handler: (closed: SessionClosedEvent) => void): void;
  /** Number of handlers running now. */
  readonly inflight: number;
  /** True once the instance is draining: stop accepting new long-lived work (rooms). */
  readonly draining: boolean;
}

/** What a handler receives with its request. */
export interface HandlerContext {
  readonly requestId: string;
  /** The calling client's session; null when a module called without one. */
  readonly session: SessionRef | null;
  /** Child logger bound with the request id. */
  readonly log: Logger;
  readonly module: ModuleRuntime;
  /** The session's uid; throws UNAUTHENTICATED when there is none. */
  requireUid(): string;
  /** Typed call to another module, carrying this request's session. */
  call<R extends keyof Routes>(route: R, req: MessageInit<Routes[R]["req"]>, opts?: CallOptions): Promise<Routes[R]["res"]>;
  /**
   * Binds a uid to the calling session: records it in the online table (kicking any older
   * session of that uid, on any gateway) and tells the gateway. Resolves once applied.
   */
  bind(uid: string): Promise<void>;
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

/** A request handler: returns the reply message or throws SwitchyardError. */
export type Handler<Req, Res> = (ctx: HandlerContext, req: Req) => Promise<MessageInit<Res>> | MessageInit<Res>;

/** One handler per rpc of the module's proto service. */
export type Handlers<M> = { [K in keyof M]: M[K] extends { req: infer Q; res: infer S } ? Handler<Q, S> : never };

/** A module: its proto service's handlers plus optional lifecycle hooks. */
export interface ModuleDefinition<M = unknown> {
  /** The proto package name; routes are "<name>.<Method>". */
  name: string;
  /** Semver of this code; shown by `ctl status`, checked by rollouts. */
  version: string;
  handlers: Handlers<M>;
  /** Runs after connecting and before subscribing: open resources, load state. */
  onStart?(rt: ModuleRuntime): Promise<void> | void;
  /** Runs when draining starts (new requests have stopped): e.g. stop opening rooms. */
  onDrain?(rt: ModuleRuntime): Promise<void> | void;
  /**
   * Stateful modules: resolves when the instance may exit (e.g. its rooms ended). The host
   * keeps the instance subject served until then or until drainTimeoutMs.
   */
  drained?(rt: ModuleRuntime): Promise<void>;
  /** Runs last, after in-flight requests finished: close resources. */
  onStop?(rt: ModuleRuntime): Promise<void> | void;
}

/**
 * Declares a module whose methods are generated from proto/ (`ModuleMethods[name]`): the
 * handler set is checked against the proto service, so a missing or misspelled rpc fails to
 * compile.
 */
export function defineModule<N extends keyof ModuleMethods>(
  def: ModuleDefinition<ModuleMethods[N]> & { name: N },
): ModuleDefinition<ModuleMethods[N]> {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(def.version)) {
    throw new Error(`module ${def.name}: version "${def.version}" is not semver (e.g. 1.2.0)`);
  }
  return def;
}
