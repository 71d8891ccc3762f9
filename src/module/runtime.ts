import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "nats";
import type { Redis } from "ioredis";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { cluster } from "../generated/proto.js";
import type { Logger } from "../log/logger.js";
import { SwitchyardError } from "../protocol/errors.js";
import { Header } from "../bus/headers.js";
import { DEFAULT_TIMEOUT_MS, type ReplyMux } from "../bus/reply-mux.js";
import { SystemSubject, channelSubject, gatewayBindSubject, gatewayCommandSubject, parseRoute, trustedInstanceSubject, trustedServiceSubject } from "../bus/subjects.js";
import type { MessageCodec, ProtoRegistry } from "../proto/registry.js";
import type { CallOptions, InstanceTimer, ModuleRuntime, SessionClosedEvent, SessionOpenedEvent, SessionRef } from "./define.js";
import { confirmReplicasOf, createRedisClient, createWriteConfirmer, type WriteConfirmer } from "../redis/index.js";
import { GatewaySweep, SWEEP_INTERVAL_MS } from "./gateway-sweep.js";
import { defineDeclaredRedisCommands } from "./redis-command.js";
import { OnlineTable } from "./online-table.js";
import { SpanIds } from "../tracing/trace-context.js";

/** How long a gateway has to acknowledge a bind/kick/join/leave. */
const COMMAND_TIMEOUT_MS = 2_000;

/** Everything a runtime is built from (the host owns the connections). */
export interface RuntimeParts {
  name: string;
  instanceId: string;
  version: string;
  config: ClusterConfig;
  log: Logger;
  nc: NatsConnection;
  mux: ReplyMux;
  registry: ProtoRegistry;
  counters: { inflight: number; draining: boolean };
  /** modules.<name>.settings after the module's schema validated and defaulted them. */
  settings: unknown;
  /** Told of every error event of the instance's Redis connection (metrics); null: nobody. */
  onRedisError?: (() => void) | null;
}

/**
 * Headers of a trusted call: the calling module instance (`<module>/<instanceId>`), the session
 * it acts for (if any) and the request id it continues.
 */
export function trustedCallHeaders(caller: string, session: SessionRef | null, requestId: string | null, traceparent: string | null = null): MsgHdrs {
  const h = natsHeaders();
  h.set(Header.caller, caller);
  if (session !== null) {
    h.set(Header.gateway, session.gatewayId);
    h.set(Header.session, String(session.sid));
    if (session.uid !== null) h.set(Header.uid, session.uid);
  }
  if (requestId !== null) h.set(Header.requestId, requestId);
  if (traceparent !== null) h.set(Header.traceparent, traceparent);
  return h;
}

/** The ModuleRuntime of one instance: calls, pushes, channels, kicks, timers and shared Redis. */
export class ModuleRuntimeImpl implements ModuleRuntime {
  readonly name: string;
  readonly instanceId: string;
  readonly version: string;
  readonly settings: unknown;
  readonly config: ClusterConfig;
  readonly log: Logger;
  readonly nc: NatsConnection;
  private readonly mux: ReplyMux;
  private readonly registry: ProtoRegistry;
  private readonly counters: { inflight: number; draining: boolean };
  private readonly callTimeoutMs: number;
  private readonly commandCodec: MessageCodec<cluster.GatewayCommand>;
  private readonly ackCodec: MessageCodec<cluster.CommandAck>;
  private readonly channelCodec: MessageCodec<cluster.ChannelMessage>;
  /** Channel messages published: the counter of their ids. */
  private published = 0;
  private readonly closedCodec: MessageCodec<cluster.SessionClosed>;
  private readonly openedCodec: MessageCodec<cluster.SessionOpened>;
  private sweep: GatewaySweep | null = null;
  private readonly callerStamp: string;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly onRedisError: (() => void) | null;
  /** Span ids of this instance's handlers (ctx.trace). */
  readonly spanIds = new SpanIds();
  private redisClient: Redis | null = null;
  private confirmer: WriteConfirmer | null = null;
  private online: OnlineTable | null = null;

  constructor(parts: RuntimeParts) {
    this.name = parts.name;
    this.instanceId = parts.instanceId;
    this.version = parts.version;
    this.config = parts.config;
    this.settings = parts.settings;
    this.callerStamp = `${parts.name}/${parts.instanceId}`;
    this.log = parts.log;
    this.nc = parts.nc;
    this.mux = parts.mux;
    this.registry = parts.registry;
    this.counters = parts.counters;
    this.onRedisError = parts.onRedisError ?? null;
    this.callTimeoutMs = parts.config.modules[parts.name]?.callTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.commandCodec = parts.registry.message("cluster.GatewayCommand");
    this.ackCodec = parts.registry.message("cluster.CommandAck");
    this.channelCodec = parts.registry.message("cluster.ChannelMessage");
    this.closedCodec = parts.registry.message("cluster.SessionClosed");
    this.openedCodec = parts.registry.message("cluster.SessionOpened");
  }

  get inflight(): number {
    return this.counters.inflight;
  }

  get draining(): boolean {
    return this.counters.draining;
  }

  redis(): Redis {
    if (this.redisClient === null) {
      const client = createRedisClient(this.config.redis, {
        connectionName: this.instanceId,
        onError: (err) => {
          this.onRedisError?.();
          this.log.warn({ err: err.message }, "redis connection problem");
        },
      });
      defineDeclaredRedisCommands(client);
      const replicas = confirmReplicasOf(this.config.redis);
      if (replicas > 0) this.confirmer = createWriteConfirmer(client, replicas, this.config.redis.confirmTimeoutMs);
      this.redisClient = client;
    }
    return this.redisClient;
  }

  /**
   * Confirms the writes of requests on this instance's Redis connection with replicas
   * (redis.confirmReplicas); null while the instance has no Redis connection or none is asked for.
   */
  writeConfirmer(): WriteConfirmer | null {
    return this.confirmer;
  }

  /** The cluster-wide uid → session table. */
  onlineTable(): OnlineTable {
    if (this.online === null) this.online = new OnlineTable(this.redis());
    return this.online;
  }

  async call(route: string, req: object, opts?: CallOptions): Promise<never> {
    return this.callAs(route, req, opts, null, null);
  }

  /**
   * A trusted call acting for `session` (`ctx.call` passes its own), continuing `requestId` and
   * the trace of `traceparent` (the calling handler's span as the parent).
   */
  async callAs(route: string, req: object, opts: CallOptions | undefined, session: SessionRef | null, requestId: string | null, traceparent: string | null = null): Promise<never> {
    const codec = this.registry.route(route);
    const parsed = parseRoute(route);
    if (codec === null || parsed === null) {
      throw new SwitchyardError("NOT_FOUND", `route "${route}" is not declared by any service in proto/`);
    }
    const subject = opts?.instance ? trustedInstanceSubject(opts.instance, parsed.method) : trustedServiceSubject(parsed.module, parsed.method);
    const acting = opts?.session !== undefined ? opts.session : session;
    const reply = await this.mux.request(subject, codec.request.encode(req), trustedCallHeaders(this.callerStamp, acting, requestId, traceparent), opts?.timeoutMs ?? this.callTimeoutMs);
    return codec.response.decode(reply.data) as never;
  }

  /** The encoder of a declared push route; throws naming the route when proto/ declares none. */
  private pushCodec(route: string): MessageCodec<unknown> {
    const codec = this.registry.push(route);
    if (codec === null) {
      throw new SwitchyardError("NOT_FOUND", `push route "${route}" is not declared: add rpc ${route.slice(route.indexOf(".") + 1)}(<Message>) to a service named <Name>Push in the package's .proto`);
    }
    return codec;
  }

  push(targets: SessionRef | readonly SessionRef[], route: string, msg: object): void {
    if (Array.isArray(targets) && targets.length === 0) return;
    this.pushEncoded(targets, route, this.pushCodec(route).encode(msg));
  }

  pushEncoded(targets: SessionRef | readonly SessionRef[], route: string, body: Uint8Array): void {
    const list: readonly SessionRef[] = Array.isArray(targets) ? targets : [targets as SessionRef];
    if (list.length === 0) return;
    this.pushCodec(route);
    const byGateway = new Map<string, number[]>();
    for (const t of list) {
      const sids = byGateway.get(t.gatewayId);
      if (sids) sids.push(t.sid);
      else byGateway.set(t.gatewayId, [t.sid]);
    }
    for (const [gatewayId, sids] of byGateway) {
      this.nc.publish(gatewayCommandSubject(gatewayId), this.commandCodec.encode({ push: { sids, route, body } }));
    }
  }

  every(ms: number, fn: () => unknown): InstanceTimer {
    const timer = setInterval(() => this.runTimer(fn), ms);
    return this.ownTimer(timer);
  }

  after(ms: number, fn: () => unknown): InstanceTimer {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.runTimer(fn);
    }, ms);
    return this.ownTimer(timer);
  }

  private ownTimer(timer: NodeJS.Timeout): InstanceTimer {
    timer.unref();
    this.timers.add(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      },
    };
  }

  private runTimer(fn: () => unknown): void {
    try {
      const out = fn();
      if (out instanceof Promise) out.catch((err: unknown) => this.log.error({ err }, "timer callback failed"));
    } catch (err) {
      this.log.error({ err }, "timer callback failed");
    }
  }

  /** Cancels every timer of the instance (called by the host when it stops). */
  clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  onSessionClosed(delivery: "one" | "every", handler: (closed: SessionClosedEvent) => void): void {
    this.startGatewaySweep();
    this.subscribeEvent(SystemSubject.sessionClosed, this.closedCodec, delivery, handler);
  }

  onSessionOpened(delivery: "one" | "every", handler: (opened: SessionOpenedEvent) => void): void {
    this.subscribeEvent(SystemSubject.sessionOpened, this.openedCodec, delivery, handler);
  }

  /** Announces a bind on sys.session.opened (called once the gateway applied it). */
  announceOpened(opened: cluster.SessionOpened): void {
    this.nc.publish(SystemSubject.sessionOpened, this.openedCodec.encode(opened));
  }

  /**
   * A module that listens to session ends also watches the gateways: when one dies, its
   * sessions leave the online table and their sys.session.closed is published (see GatewaySweep).
   */
  private startGatewaySweep(): void {
    if (this.sweep !== null) return;
    const sweep = new GatewaySweep(
      this.nc,
      () => this.onlineTable(),
      (s, reason) => this.nc.publish(SystemSubject.sessionClosed, this.closedCodec.encode({ ...s, reason })),
      this.log,
    );
    this.sweep = sweep;
    this.every(SWEEP_INTERVAL_MS, () => sweep.sweep());
  }

  private subscribeEvent<T>(subject: string, codec: MessageCodec<T>, delivery: "one" | "every", handler: (event: T) => void): void {
    this.nc.subscribe(subject, {
      ...(delivery === "one" ? { queue: this.name } : {}),
      callback: (_err, msg) => {
        let event: T;
        try {
          event = codec.decode(msg.data);
        } catch (err) {
          this.log.warn({ err: (err as Error).message, subject }, "undecodable session event ignored");
          return;
        }
        try {
          handler(event);
        } catch (err) {
          this.log.error({ err, subject }, "session event handler failed");
        }
      },
    });
  }

  async pushToUid(uid: string, route: string, msg: object): Promise<boolean> {
    const codec = this.pushCodec(route);
    const entry = await this.onlineTable().lookup(uid);
    if (entry === null) return false;
    this.nc.publish(gatewayCommandSubject(entry.gatewayId), this.commandCodec.encode({ push: { sids: [entry.sid], route, body: codec.encode(msg) } }));
    return true;
  }

  async pushToUids(uids: readonly string[], route: string, msg: object): Promise<string[]> {
    const codec = this.pushCodec(route);
    if (uids.length === 0) return [];
    const unique = [...new Set(uids)];
    const entries = await this.onlineTable().lookupMany(unique);
    const offline: string[] = [];
    const byGateway = new Map<string, number[]>();
    entries.forEach((entry, i) => {
      if (entry === null) {
        offline.push(unique[i]!);
        return;
      }
      const sids = byGateway.get(entry.gatewayId);
      if (sids) sids.push(entry.sid);
      else byGateway.set(entry.gatewayId, [entry.sid]);
    });
    if (byGateway.size === 0) return offline;
    const body = codec.encode(msg);
    for (const [gatewayId, sids] of byGateway) {
      this.nc.publish(gatewayCommandSubject(gatewayId), this.commandCodec.encode({ push: { sids, route, body } }));
    }
    return offline;
  }

  publish(channel: string, route: string, msg: object, excludeUids: string[] = []): void {
    const body = this.pushCodec(route).encode(msg);
    // the id lets a resume drop a push that both gateways of a move delivered (push-overlap.ts)
    this.nc.publish(channelSubject(channel), this.channelCodec.encode({ route, body, excludeUids, id: `${this.instanceId}.${++this.published}` }));
  }

  async kick(target: SessionRef, code: number, reason: string, handover = false): Promise<void> {
    await this.command(target.gatewayId, { kick: { sid: target.sid, uid: "", code, reason, handover } });
  }

  async kickUid(uid: string, code: number, reason: string): Promise<boolean> {
    const entry = await this.onlineTable().lookup(uid);
    if (entry === null) return false;
    await this.command(entry.gatewayId, { kick: { sid: entry.sid, uid: "", code, reason, handover: false } });
    return true;
  }

  async joinChannel(session: SessionRef, channel: string): Promise<void> {
    await this.command(session.gatewayId, { join: { sid: session.sid, channel } });
  }

  async leaveChannel(session: SessionRef, channel: string): Promise<void> {
    await this.command(session.gatewayId, { leave: { sid: session.sid, channel } });
  }

  /** Sends a command to a gateway and waits for its acknowledgement. */
  async command(gatewayId: string, cmd: Partial<cluster.GatewayCommand>): Promise<cluster.CommandAck> {
    const subject = cmd.bind ? gatewayBindSubject(gatewayId) : gatewayCommandSubject(gatewayId);
    const reply = await this.mux.request(subject, this.commandCodec.encode(cmd), undefined, COMMAND_TIMEOUT_MS);
    const ack = this.ackCodec.decode(reply.data);
    if (!ack.ok) throw new SwitchyardError("NOT_FOUND", `gateway ${gatewayId}: ${ack.error}`);
    return ack;
  }

  /** Clears the timers and closes the Redis client, if one was opened. */
  async close(): Promise<void> {
    this.clearTimers();
    if (this.redisClient !== null) {
      await this.redisClient.quit().catch(() => this.redisClient?.disconnect());
      this.redisClient = null;
      this.confirmer = null;
    }
  }
}
