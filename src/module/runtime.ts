import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "nats";
import type { Redis } from "ioredis";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { cluster } from "../generated/proto.js";
import type { Logger } from "../log/logger.js";
import { SwitchyardError } from "../protocol/errors.js";
import { Header } from "../bus/headers.js";
import { DEFAULT_TIMEOUT_MS, isGatewayGone, type ReplyMux } from "../bus/reply-mux.js";
import { SystemSubject, lostProbeSubject, lostProbeWildcard, channelSubject, gatewayBindSubject, gatewayCommandSubject, parseRoute, trustedInstanceSubject, trustedServiceSubject } from "../bus/subjects.js";
import type { MessageCodec, ProtoRegistry } from "../proto/registry.js";
import type { CallOptions, InstanceTimer, ModuleRuntime, SessionClosedEvent, SessionOpenedEvent, SessionRef } from "./define.js";
import { confirmReplicasOf, createRedisClient, createWriteConfirmer, type WriteConfirmer } from "../redis/index.js";
import type { RedisWriteBatch } from "../redis/write-batching.js";
import { ChannelLogWriter } from "../redis/channel-log.js";
import { GatewaySweeper, SWEEP_INTERVAL_MS, type PingOutcome } from "./gateway-sweep.js";
import { defineDeclaredRedisCommands } from "./redis-command.js";
import { OnlineTable, PUSH_BUCKET_MS } from "./online-table.js";
import { SpanIds } from "../tracing/trace-context.js";

/** How long a gateway has to acknowledge a bind/kick/join/leave/push. */
const COMMAND_TIMEOUT_MS = 2_000;
/** How long the sweeper's ping waits (below the sweep interval: passes do not pile up). */
const PING_TIMEOUT_MS = 900;
/**
 * A ping that timed out this much later than PING_TIMEOUT_MS was held up by this process (its
 * event loop was blocked or starved), not by the gateway: its reply may be waiting unread.
 */
const PING_STALL_MS = 300;
/** How long the sweeper waits for an adopter's answer (a timeout: the next pass asks again). */
const ADOPT_TIMEOUT_MS = 5_000;
/** How long a gone gateway stays marked as having lost pushes: an adopted session's window starts after the death. */
const LOST_MARK_MS = (windowMs: number): number => 2 * windowMs + 10_000;
/** Tries of a point push whose uid moved while it was being kept (adopted, resumed elsewhere). */
const POINT_PUSH_TRIES = 3;

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
  /** Batches the Redis writes of the instance (see write-batching.ts); null: one write per command. */
  redisBatch?: RedisWriteBatch | null;
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
  /** Tells this process's publication ids from those of an earlier process of the same instance id. */
  private readonly publicationTag = Date.now().toString(36);
  /** Logs channel publications for resumes after a gateway's death (null: resume is off). */
  private readonly channelLog: ChannelLogWriter | null;
  private readonly closedCodec: MessageCodec<cluster.SessionClosed>;
  private readonly openedCodec: MessageCodec<cluster.SessionOpened>;
  private readonly pendingCodec: MessageCodec<cluster.PendingPush>;
  private readonly adoptCodec: MessageCodec<cluster.AdoptRequest>;
  private readonly adoptReplyCodec: MessageCodec<cluster.AdoptReply>;
  private sweep: GatewaySweeper | null = null;
  /** Gateway id → the reply subject of pushes to it (see lostProbeSubject); null until the first push. */
  private lostProbes: Map<string, string> | null = null;
  /** Gateway id → when its lost pushes were last marked in Redis (once a second at most). */
  private readonly lostMarked = new Map<string, number>();
  /** Per gateway, the second in which this instance last recorded pushing to it by session. */
  private readonly pushedIn = new Map<string, number>();
  private readonly callerStamp: string;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly onRedisError: (() => void) | null;
  private readonly redisBatch: RedisWriteBatch | null;
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
    this.redisBatch = parts.redisBatch ?? null;
    this.callTimeoutMs = parts.config.modules[parts.name]?.callTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.commandCodec = parts.registry.message("cluster.GatewayCommand");
    this.ackCodec = parts.registry.message("cluster.CommandAck");
    this.channelCodec = parts.registry.message("cluster.ChannelMessage");
    this.closedCodec = parts.registry.message("cluster.SessionClosed");
    this.openedCodec = parts.registry.message("cluster.SessionOpened");
    this.pendingCodec = parts.registry.message("cluster.PendingPush");
    this.adoptCodec = parts.registry.message("cluster.AdoptRequest");
    const resume = parts.config.gateway.resume;
    this.channelLog =
      resume.windowMs > 0
        ? new ChannelLogWriter(() => this.redis(), { maxEntries: resume.maxPushes, windowMs: resume.windowMs }, (err) =>
            this.log.warn({ err: err.message }, "cannot log a channel message in Redis: a member whose gateway dies before it delivers the message misses it on resume"),
          )
        : null;
    this.adoptReplyCodec = parts.registry.message("cluster.AdoptReply");
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
      this.redisBatch?.attach(client);
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
      this.nc.publish(gatewayCommandSubject(gatewayId), this.commandCodec.encode({ push: { sids, route, body, uid: "" } }), { reply: this.lostProbe(gatewayId) });
      this.notePushedBySession(gatewayId);
    }
  }

  /** Records (once per gateway and second) that this instance pushes by session to `gatewayId`: see OnlineTable.notePushedBySession. */
  private notePushedBySession(gatewayId: string): void {
    const windowMs = this.config.gateway.resume.windowMs;
    if (windowMs === 0) return;
    const bucket = Math.floor(Date.now() / PUSH_BUCKET_MS) * PUSH_BUCKET_MS;
    if (this.pushedIn.get(gatewayId) === bucket) return;
    if (this.pushedIn.size >= 1_024) this.pushedIn.clear();
    this.pushedIn.set(gatewayId, bucket);
    this.onlineTable()
      .notePushedBySession(gatewayId, this.instanceId, bucket, LOST_MARK_MS(windowMs))
      .catch((err: Error) => this.log.warn({ err: err.message, gatewayId }, "cannot record pushes by session in Redis: a push lost as its gateway dies may go unnoticed"));
  }

  /**
   * The reply subject of pushes to `gatewayId`: the gateway does not answer it, NATS answers "no
   * responders" when it is gone. Those pushes cannot be kept (they name sessions, not uids), so
   * the gateway is marked in Redis: the resume of its sessions then answers RESYNC.
   */
  private lostProbe(gatewayId: string): string {
    if (this.lostProbes === null) {
      this.lostProbes = new Map();
      this.nc.subscribe(lostProbeWildcard(this.instanceId), { callback: (_err, msg) => this.pushesLost(msg.subject) });
    }
    let reply = this.lostProbes.get(gatewayId);
    if (reply === undefined) {
      reply = lostProbeSubject(this.instanceId, gatewayId);
      // bounded: gateway ids come and go with rollouts
      if (this.lostProbes.size >= 1_024) this.lostProbes.clear();
      this.lostProbes.set(gatewayId, reply);
    }
    return reply;
  }

  private pushesLost(subject: string): void {
    const gatewayId = subject.split(".")[2];
    if (gatewayId === undefined) return;
    const now = Date.now();
    if (now - (this.lostMarked.get(gatewayId) ?? 0) < 1_000) return;
    this.lostMarked.set(gatewayId, now);
    this.log.info({ gatewayId }, "pushes to a gateway that is gone were lost: its sessions' resumes will answer RESYNC");
    this.onlineTable()
      .markLost(gatewayId, LOST_MARK_MS(this.config.gateway.resume.windowMs))
      .catch((err: Error) => this.log.warn({ err: err.message, gatewayId }, "cannot mark a gone gateway's lost pushes in Redis"));
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
   * A module that listens to session ends also takes part in watching the gateways: one such
   * instance of the cluster (the lease holder) pings them; when one dies, its sessions are adopted
   * by a live gateway (or released) and their sys.session.closed is published (see GatewaySweeper).
   */
  private startGatewaySweep(): void {
    if (this.sweep !== null) return;
    const sweep = new GatewaySweeper(
      this.instanceId,
      () => this.onlineTable(),
      {
        ping: (gw) => this.pingGateway(gw),
        adopt: (gw, beforeMs, reason, cutMs) => this.requestAdoption(gw, beforeMs, reason, cutMs),
        announce: (s, reason) => this.nc.publish(SystemSubject.sessionClosed, this.closedCodec.encode({ ...s, reason, successor: "" })),
      },
      this.log,
      LOST_MARK_MS(this.config.gateway.resume.windowMs),
    );
    this.sweep = sweep;
    this.every(SWEEP_INTERVAL_MS, () => sweep.sweep());
  }

  private async pingGateway(gatewayId: string): Promise<PingOutcome> {
    const sentAt = performance.now();
    try {
      const reply = await this.mux.request(gatewayCommandSubject(gatewayId), this.commandCodec.encode({ ping: {} }), undefined, PING_TIMEOUT_MS);
      return { startedAt: this.ackCodec.decode(reply.data).startedAt };
    } catch (err) {
      if (isGatewayGone(err)) return "no-responders";
      // A timeout marks a gateway as lingering (its resumes then answer RESYNC): only when the
      // timer fired on time is it the gateway that was silent.
      return performance.now() - sentAt > PING_TIMEOUT_MS + PING_STALL_MS ? "stalled" : "timeout";
    }
  }

  private async requestAdoption(gatewayId: string, beforeMs: number, reason: string, cutMs: number): Promise<"adopted" | "busy" | "none"> {
    try {
      const reply = await this.mux.request(SystemSubject.gatewayAdopt, this.adoptCodec.encode({ gatewayId, beforeMs, reason, cutMs }), undefined, ADOPT_TIMEOUT_MS);
      const r = this.adoptReplyCodec.decode(reply.data);
      if (r.claimed) this.log.info({ gatewayId, adopter: r.adopter, sessions: r.sessions.length }, "dead gateway adopted");
      return r.claimed ? "adopted" : "busy";
    } catch (err) {
      return isGatewayGone(err) ? "none" : "busy";
    }
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

  /**
   * A point push, acknowledged by the gateway (after the frame left for the socket, or for an away
   * session once it is stored). When the uid's gateway is gone (no responders, or it no longer
   * knows the session) the push is kept in the uid's pending list, which the gateway that adopts
   * or resumes the uid replays in order. A timeout (a slow gateway, or a lost host whose
   * connection NATS has not dropped yet) resolves true without keeping the push (it may have
   * arrived) but marks the list: a resume after that gateway's death answers RESYNC.
   */
  async pushToUid(uid: string, route: string, msg: object): Promise<boolean> {
    const body = this.pushCodec(route).encode(msg);
    const table = this.onlineTable();
    for (let attempt = 0; attempt < POINT_PUSH_TRIES; attempt++) {
      const entry = await table.lookup(uid);
      if (entry === null) return false;
      const outcome = await this.deliverPoint(uid, entry, route, body);
      if (outcome === "delivered") return true;
      const resume = this.config.gateway.resume;
      // resume off: nobody could replay it
      if (resume.windowMs === 0) return outcome === "unknown";
      // Unknown (a timeout): the gateway may be slow, or gone with the push (a host lost): not
      // kept (it may have arrived), but the list is marked so a resume after a death says RESYNC.
      const item = outcome === "unknown" ? "" : Buffer.from(this.pendingCodec.encode({ route, body })).toString("base64");
      const kept = await table.appendPending(uid, entry, item, resume.maxPushes, resume.windowMs);
      if (kept === "full") this.log.warn({ uid, route }, "pending pushes of a uid whose gateway died are over gateway.resume.maxPushes: its resume will answer RESYNC");
      // sent again only when surely not delivered: a timed-out push may have arrived
      if (kept !== "moved" || outcome === "unknown") return true;
    }
    this.log.warn({ uid, route }, "point push not delivered: the uid kept moving between gateways");
    return false;
  }

  /** "delivered" (acknowledged), "gone" (no responders, or the gateway lost the session) or "unknown" (no answer in time). */
  private async deliverPoint(uid: string, entry: { gatewayId: string; sid: number }, route: string, body: Uint8Array): Promise<"delivered" | "gone" | "unknown"> {
    try {
      const reply = await this.mux.request(gatewayCommandSubject(entry.gatewayId), this.commandCodec.encode({ push: { sids: [entry.sid], route, body, uid } }), undefined, COMMAND_TIMEOUT_MS);
      return this.ackCodec.decode(reply.data).ok ? "delivered" : "gone";
    } catch (err) {
      if (isGatewayGone(err)) return "gone";
      this.log.warn({ err: (err as Error).message, gatewayId: entry.gatewayId }, "point push not acknowledged in time: the gateway is slow or its host is lost");
      return "unknown";
    }
  }

  async pushToUids(uids: readonly string[], route: string, msg: object): Promise<string[]> {
    const codec = this.pushCodec(route);
    if (uids.length === 0) return [];
    const unique = [...new Set(uids)];
    const entries = await this.onlineTable().lookupMany(unique);
    const offline: string[] = [];
    const byGateway = new Map<string, { sids: number[]; uids: string[] }>();
    entries.forEach((entry, i) => {
      const uid = unique[i]!;
      if (entry === null) {
        offline.push(uid);
        return;
      }
      const group = byGateway.get(entry.gatewayId);
      if (group) {
        group.sids.push(entry.sid);
        group.uids.push(uid);
      } else byGateway.set(entry.gatewayId, { sids: [entry.sid], uids: [uid] });
    });
    if (byGateway.size === 0) return offline;
    const body = codec.encode(msg);
    // one acknowledged command per gateway; what did not arrive takes the point-push path of its uid
    const gone = await Promise.all([...byGateway].map(([gatewayId, group]) => this.pushToGroup(gatewayId, group, route, body, msg)));
    return [...offline, ...gone.flat()];
  }

  /**
   * One push command to `gatewayId` for the sessions of `group`, acknowledged. The uids whose
   * session it no longer holds, or all of them when it is gone, go the way of pushToUid (kept
   * for their resume, or sent where they moved); no answer in time marks their pending lists
   * as pushToUid does (a resume after that gateway's death answers RESYNC).
   */
  private async pushToGroup(gatewayId: string, group: { sids: number[]; uids: string[] }, route: string, body: Uint8Array, msg: object): Promise<string[]> {
    let retry: string[];
    try {
      const reply = await this.mux.request(gatewayCommandSubject(gatewayId), this.commandCodec.encode({ push: { sids: group.sids, route, body, uid: "" } }), undefined, COMMAND_TIMEOUT_MS);
      const ack = this.ackCodec.decode(reply.data);
      const missing = new Set(ack.missingSids);
      retry = ack.ok ? group.uids.filter((_, i) => missing.has(group.sids[i]!)) : group.uids;
    } catch (err) {
      if (!isGatewayGone(err)) {
        this.log.warn({ err: (err as Error).message, gatewayId }, "push to several users not acknowledged in time: the gateway is slow or its host is lost");
        const resume = this.config.gateway.resume;
        if (resume.windowMs > 0) {
          const table = this.onlineTable();
          await Promise.all(group.uids.map((uid, i) => table.appendPending(uid, { gatewayId, sid: group.sids[i]! }, "", resume.maxPushes, resume.windowMs).catch(() => undefined)));
        }
        return [];
      }
      retry = group.uids;
    }
    const delivered = await Promise.all(retry.map((uid) => this.pushToUid(uid, route, msg)));
    return retry.filter((_, i) => !delivered[i]);
  }

  publish(channel: string, route: string, msg: object, excludeUids: string[] = []): void {
    const body = this.pushCodec(route).encode(msg);
    // the id lets a resume drop a push that both gateways of a move delivered (push-overlap.ts),
    // and one the client already has when the log is replayed after its gateway's death
    const encoded = this.channelCodec.encode({ route, body, excludeUids, id: `${this.instanceId}.${this.publicationTag}.${++this.published}` });
    // logged first: the write batch sends it before the publish below
    this.channelLog?.append(channel, encoded);
    this.nc.publish(channelSubject(channel), encoded);
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
