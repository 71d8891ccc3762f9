import { randomBytes } from "node:crypto";
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Service, type Subscription } from "nats";
import type { ClusterConfig } from "../config/cluster-config.js";
import { connectBus } from "../bus/connection.js";
import { announceInstance, makeIdentity } from "../bus/discovery.js";
import { SwitchyardError } from "../protocol/errors.js";
import { respondWithError } from "../bus/error-headers.js";
import { Header } from "../bus/headers.js";
import { hookEverySend, libraryHeaderBytes, natsFastPaths, preEncodedHeaders } from "../bus/nats-internals.js";
import { isOrderedRequestId } from "../bus/ordered-requests.js";
import { readRequestHeaders, type RequestHeaders } from "../bus/request-headers.js";
import { LifecycleState } from "../bus/lifecycle.js";
import { ReplyMux } from "../bus/reply-mux.js";
import { instanceWildcard, isTrustedSubject, serviceWildcard, trustedInstanceSubject, trustedServiceSubject } from "../bus/subjects.js";
import { createLogger, type Logger } from "../log/logger.js";
import { serveMetrics } from "../metrics/gather.js";
import { ModuleMetrics, type MethodMetrics } from "../metrics/module-metrics.js";
import { ProcessMetrics } from "../metrics/process-metrics.js";
import { RedisWriteBatch } from "../redis/write-batching.js";
import { createSpanSink, nowMs, type SpanSink } from "../tracing/span-exporter.js";
import { loadProto, type MessageCodec, type ProtoRegistry } from "../proto/registry.js";
import { HandlerContextImpl } from "./context.js";
import type { CallerRef, Handler, HandlerContext, ModuleDefinition, SessionRef } from "./define.js";
import { ModuleRuntimeImpl } from "./runtime.js";
import { SessionOrder, type OrderSlot, type Ready } from "./session-order.js";
import { parseModuleSettings } from "./settings.js";

/** How a module instance is started. */
export interface ModuleHostOptions {
  definition: ModuleDefinition;
  config: ClusterConfig;
  /** Unique in the cluster; default "<name>-<8 hex>". */
  instanceId?: string;
  registry?: ProtoRegistry;
  log?: Logger;
}

/** A running module instance. */
export interface ModuleHost {
  readonly instanceId: string;
  readonly state: LifecycleState;
  readonly runtime: ModuleRuntimeImpl;
  /**
   * Stops taking new requests, finishes in-flight ones (stateful modules: until `drained()`
   * or drainTimeoutMs), runs onStop and closes connections. Same promise on every call.
   */
  drain(): Promise<void>;
  /**
   * Like drain(), but does not wait for long-lived stateful work (`drained()`): stop taking
   * requests, finish the in-flight ones, run onStop, exit. For stopping the whole cluster, where
   * no other instance will take over the rooms. Callable during a drain to cut it short; same
   * promise as drain().
   */
  stop(): Promise<void>;
  /** Resolves once stopped: null after a clean drain, the Error otherwise. */
  readonly stopped: Promise<Error | null>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Ids given to requests that arrive without one (internal calls outside a request, ctl): a
 * counter, unique under any concurrency, behind the instance id and this process's start time
 * (a respawned instance keeps its id but not its counter).
 */
const localRequestIds = { boot: Date.now().toString(36), next: 0 };

interface Method {
  name: string;
  handler: Handler<HandlerContext, unknown, unknown>;
  request: MessageCodec<unknown>;
  response: MessageCodec<unknown>;
  /** Its metric children; null when metrics are off. */
  metrics: MethodMetrics | null;
  /** Listed in the module's `pipelined`: may start while earlier requests of its session run. */
  pipelined: boolean;
}

const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/**
 * A draining instance keeps its instance subjects until no message arrived for this long: a
 * gateway pipelining a session to it (request-lane.ts) learns of the drain from its replies,
 * and what it sent meanwhile is still answered here instead of bouncing.
 */
const QUIET_BEFORE_UNSUBSCRIBE_MS = 50;

/** An ordered request waiting behind the running one of its session. */
interface WaitingRequest {
  msg: Msg;
  method: Method;
  h: RequestHeaders;
}

/** Connects, runs onStart, subscribes and announces a module instance. */
export async function startModule(opts: ModuleHostOptions): Promise<ModuleHost> {
  const def = opts.definition;
  const instanceId = opts.instanceId ?? `${def.name}-${randomBytes(4).toString("hex")}`;
  const log = opts.log ?? createLogger(def.name, instanceId, opts.config.log.level);
  const registry = opts.registry ?? loadProto();
  const methods = resolveMethods(def, registry);
  const settings = parseModuleSettings(def, opts.config);
  log.info({ nats: opts.config.nats.url }, "connecting to NATS (waits until it answers)");
  const nc = await connectBus(opts.config.nats, instanceId, (m) => log.warn(m));
  const redisBatch = await batchingFor(nc, log);
  const host = new ModuleHostImpl(def, opts.config, instanceId, log, nc, registry, methods, settings, redisBatch);
  try {
    await host.start();
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
  return host;
}

/**
 * The instance's Redis write batching (write-batching.ts), which needs every NATS message to
 * flush the held Redis writes first: null (one write per command) when that hook cannot be
 * proven on this connection.
 */
async function batchingFor(nc: NatsConnection, log: Logger): Promise<RedisWriteBatch | null> {
  const batch = new RedisWriteBatch();
  const off = await hookEverySend(nc, () => batch.flush());
  if (off === "") return batch;
  log.warn({ reason: off }, "Redis write batching off (one socket write per command: more CPU, same results)");
  return null;
}

function resolveMethods(def: ModuleDefinition, registry: ProtoRegistry): Map<string, Method> {
  const out = new Map<string, Method>();
  const handlers = def.handlers;
  const pipelined = new Set(def.pipelined ?? []);
  for (const name of pipelined) {
    if (!(name in handlers)) throw new Error(`module ${def.name}: pipelined lists ${name}, which has no handler`);
  }
  for (const [name, handler] of Object.entries(handlers)) {
    const codec = registry.route(`${def.name}.${name}`);
    if (codec === null) {
      throw new Error(`module ${def.name}: handler ${name} has no rpc ${name} in a proto service of package ${def.name}`);
    }
    // The definition's types were checked against the proto at compile time; here bodies are decoded by the same proto.
    out.set(name, { name, handler: handler as Handler<HandlerContext, unknown, unknown>, request: codec.request, response: codec.response, metrics: null, pipelined: pipelined.has(name) });
  }
  const declared = registry.routes().filter((r) => r.startsWith(def.name + "."));
  for (const route of declared) {
    const name = route.slice(def.name.length + 1);
    if (!out.has(name)) throw new Error(`module ${def.name}: rpc ${name} is declared in proto/ but has no handler`);
  }
  return out;
}

class ModuleHostImpl implements ModuleHost {
  readonly instanceId: string;
  readonly runtime: ModuleRuntimeImpl;
  readonly stopped: Promise<Error | null>;
  state: LifecycleState = LifecycleState.starting;
  private readonly def: ModuleDefinition;
  private readonly config: ClusterConfig;
  private readonly log: Logger;
  private readonly nc: NatsConnection;
  private readonly mux: ReplyMux;
  private readonly methods: Map<string, Method>;
  private readonly counters = { inflight: 0, draining: false };
  private readonly processMetrics: ProcessMetrics | null;
  private readonly metrics: ModuleMetrics | null;
  private readonly spans: SpanSink | null;
  private served = 0;
  private errors = 0;
  /** Messages received (the drain watches it to know when the instance is quiet). */
  private arrivals = 0;
  /** Per-session order of ordered requests: what runs, what waits, replies held for their turn. */
  private readonly order = new SessionOrder<WaitingRequest>((w) => w.method.pipelined);
  /** `sy-inst: <id>` / `sy-inst: ""` reply headers, built on first use. */
  private namedHeaders: MsgHdrs | null = null;
  private drainingHeaders: MsgHdrs | null = null;
  /** What onStart returned: handed to every handler as ctx.state and to the hooks. */
  private instanceState: unknown = undefined;
  private serviceSub: Subscription | null = null;
  private trustedServiceSub: Subscription | null = null;
  private instanceSub: Subscription | null = null;
  private trustedInstanceSub: Subscription | null = null;
  private announcement: Service | null = null;
  private draining: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  /** Resolves when stop() asks not to wait for stateful work any longer. */
  private readonly stopRequested: Promise<void>;
  private cutShort!: () => void;
  private resolveStopped!: (v: Error | null) => void;

  constructor(def: ModuleDefinition, config: ClusterConfig, instanceId: string, log: Logger, nc: NatsConnection, registry: ProtoRegistry, methods: Map<string, Method>, settings: unknown, redisBatch: RedisWriteBatch | null) {
    this.def = def;
    this.config = config;
    this.instanceId = instanceId;
    this.log = log;
    this.nc = nc;
    this.methods = methods;
    this.mux = new ReplyMux(nc, instanceId);
    this.processMetrics = config.telemetry.metrics ? new ProcessMetrics(def.name, instanceId) : null;
    this.metrics = this.processMetrics === null ? null : new ModuleMetrics(this.processMetrics, () => this.counters.inflight);
    if (this.metrics !== null) for (const m of methods.values()) m.metrics = this.metrics.forRoute(`${def.name}.${m.name}`);
    const metrics = this.metrics;
    this.spans = createSpanSink(config.telemetry.otlpTracesUrl, def.name, instanceId, log);
    this.runtime = new ModuleRuntimeImpl({
      name: def.name,
      instanceId,
      version: def.version,
      config,
      log,
      nc,
      mux: this.mux,
      registry,
      counters: this.counters,
      settings,
      onRedisError: metrics === null ? null : () => metrics.redisError(),
      redisBatch,
    });
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.stopRequested = new Promise((r) => (this.cutShort = r));
  }

  async start(): Promise<void> {
    if (this.processMetrics !== null) {
      serveMetrics(this.nc, this.processMetrics.registry, this.def.name, this.instanceId);
      this.processMetrics.watchNats(this.nc);
    }
    this.instanceState = await this.def.onStart?.(this.runtime);
    const callback = (_err: unknown, msg: Msg): void => this.onMessage(msg);
    const name = this.def.name;
    this.serviceSub = this.nc.subscribe(serviceWildcard(name), { queue: name, callback });
    this.trustedServiceSub = this.nc.subscribe(trustedServiceSubject(name, "*"), { queue: name, callback });
    this.instanceSub = this.nc.subscribe(instanceWildcard(this.instanceId), { callback });
    this.trustedInstanceSub = this.nc.subscribe(trustedInstanceSubject(this.instanceId, "*"), { callback });
    this.announcement = await announceInstance(
      this.nc,
      makeIdentity("module", this.def.name, this.instanceId, this.def.version),
      () => ({ state: this.state, served: this.served, errors: this.errors, inflight: this.counters.inflight }),
      () => void this.drain(),
    );
    await this.nc.flush();
    this.state = LifecycleState.ready;
    this.log.info({ version: this.def.version, methods: [...this.methods.keys()] }, "module ready");
  }

  drain(): Promise<void> {
    if (this.draining === null) this.draining = this.runDrain();
    return this.draining;
  }

  stop(): Promise<void> {
    this.cutShort();
    return this.drain();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.drain();
  }

  private onMessage(msg: Msg): void {
    this.arrivals++;
    const subject = msg.subject;
    const name = subject.slice(subject.lastIndexOf(".") + 1);
    const method = this.methods.get(name);
    if (method === undefined) {
      const known = [...this.methods.keys()].join(", ");
      this.replyError(msg, new SwitchyardError("NOT_FOUND", `module ${this.def.name} has no method "${name}"; its methods are: ${known}`));
      return;
    }
    const h = readRequestHeaders(msg);
    // A client request of an ordered lane: runs in its session's order (session-order.ts;
    // trusted module calls are never queued: a handler calling its own module would wait for itself).
    if (h !== null && h.gateway !== "" && isOrderedRequestId(h.requestId) && !isTrustedSubject(subject)) {
      if (this.order.idle(h.gateway, h.sid)) {
        this.run(msg, method, h, true, null);
        return;
      }
      const slot = this.order.join(h.gateway, h.sid, method.pipelined);
      if (slot !== null) {
        this.runReady(this.run(msg, method, h, true, slot));
        return;
      }
      this.counters.inflight++;
      this.order.wait(h.gateway, h.sid, { msg, method, h });
      return;
    }
    this.run(msg, method, h, false, null);
  }

  /**
   * Runs one request's handler and replies. `ordered`: a request of an ordered lane (see
   * onMessage); `slot`: its place in its session's order when something of the session was
   * started before it (an ordered request that goes asynchronous takes one). Returns the waiting
   * requests of the session that may start because this one finished synchronously.
   */
  private run(msg: Msg, method: Method, h: RequestHeaders | null, ordered: boolean, slot: OrderSlot | null): Ready<WaitingRequest>[] | null {
    const subject = msg.subject;
    const requestId = h?.requestId || `${this.instanceId}-${localRequestIds.boot}-${++localRequestIds.next}`;
    const session: SessionRef | null = h?.gateway ? { gatewayId: h.gateway, sid: Number(h.sid), uid: h.uid || null, address: h.address } : null;
    // A caller is believed only on the trusted subjects, which gateways cannot publish to.
    const caller = h !== null && h.caller !== "" && isTrustedSubject(subject) ? parseCaller(h.caller) : null;
    const ctx = new HandlerContextImpl(this.runtime, this.instanceState, requestId, session, caller, h?.traceparent ?? "");
    if (method.metrics !== null) ctx.startedAt = performance.now();
    if (this.spans !== null) ctx.startMs = nowMs();
    let out: ReturnType<Method["handler"]>;
    try {
      out = method.handler(ctx, method.request.decode(msg.data));
    } catch (err) {
      if (slot === null) {
        this.fail(msg, method, ctx, err);
        return null;
      }
      return this.order.finish(h!.gateway, h!.sid, slot, () => this.fail(msg, method, ctx, err));
    }
    // Synchronous handlers are answered right here: no promise, no microtask, no closure.
    if (!(out instanceof Promise)) {
      if (slot === null) {
        this.reply(msg, method, ctx, out, ordered);
        return null;
      }
      const res = out;
      return this.order.finish(h!.gateway, h!.sid, slot, () => this.reply(msg, method, ctx, res, ordered));
    }
    this.counters.inflight++;
    const held = ordered ? (slot ?? this.order.open(h!.gateway, h!.sid, method.pipelined)) : null;
    /** Sends the reply (in the session's order for an ordered request) and counts the request done. */
    const done = (deliver: () => void): void => {
      if (held === null) deliver();
      else this.runReady(this.order.finish(h!.gateway, h!.sid, held, deliver));
      this.settled();
    };
    const confirmer = this.runtime.writeConfirmer();
    const epoch = confirmer?.epoch ?? 0;
    out.then(
      (res) => {
        // The instance had a Redis connection, or opened one: confirm with replicas what this
        // request wrote (redis.confirmReplicas) before acknowledging it.
        const confirming = confirmer ?? this.runtime.writeConfirmer();
        if (confirming === null || !msg.reply) {
          done(() => this.reply(msg, method, ctx, res, ordered));
          return;
        }
        // A connection opened by this request starts at epoch 0: any loss since happened during it.
        confirming.confirm(epoch).then(
          () => done(() => this.reply(msg, method, ctx, res, ordered)),
          (err: unknown) => done(() => this.fail(msg, method, ctx, err)),
        );
      },
      (err: unknown) => done(() => this.fail(msg, method, ctx, err)),
    );
    return null;
  }

  /** Runs the waiting requests of a session that may start now, and those their synchronous ends release. */
  private runReady(ready: Ready<WaitingRequest>[] | null): void {
    if (ready === null) return;
    for (let i = 0; i < ready.length; i++) {
      const { item, slot } = ready[i]!;
      const more = this.run(item.msg, item.method, item.h, true, slot);
      this.settled(); // its waiting count (run counted it again if it went asynchronous)
      if (more !== null) ready.push(...more);
    }
  }

  /**
   * The headers that name this instance on a reply to an ordered request: its id when the
   * request came through the queue group (the gateway may then pipeline the session's next
   * requests to it), "" while draining (send them to the module again), none otherwise.
   */
  private namingHeaders(subject: string): MsgHdrs | null {
    if (this.counters.draining) return (this.drainingHeaders ??= constantHeaders(Header.instance, ""));
    if (subject.charCodeAt(0) !== 115 /* s: svc.<module>.<Method> */) return null;
    return (this.namedHeaders ??= constantHeaders(Header.instance, this.instanceId));
  }

  private reply(msg: Msg, method: Method, ctx: HandlerContextImpl, res: unknown, ordered: boolean): void {
    let body: Uint8Array;
    try {
      body = method.response.encode(res ?? {});
    } catch (err) {
      this.fail(msg, method, ctx, err);
      return;
    }
    this.served++;
    if (this.spans !== null) this.recordSpan(method, ctx, 0);
    const mm = method.metrics;
    if (mm !== null) {
      mm.requests++;
      mm.duration.observe((performance.now() - ctx.startedAt) / 1000);
    }
    if (!msg.reply) return;
    const named = ordered ? this.namingHeaders(msg.subject) : null;
    if (ctx.pinChange === null) {
      if (named === null) msg.respond(body);
      else msg.respond(body, { headers: named });
    } else {
      // A pin ends pipelining in the gateway anyway: no sy-inst with it.
      const rh = natsHeaders();
      rh.set(Header.pin, ctx.pinChange === "pin" ? (ctx.pinTarget ?? this.instanceId) : "");
      msg.respond(body, { headers: rh });
    }
  }

  private fail(msg: Msg, method: Method, ctx: HandlerContextImpl, err: unknown): void {
    this.errors++;
    const e = toSwitchyardError(err);
    if (this.spans !== null) this.recordSpan(method, ctx, e.codeNumber);
    const mm = method.metrics;
    if (mm !== null) {
      mm.requests++;
      mm.duration.observe((performance.now() - ctx.startedAt) / 1000);
      this.metrics!.error(mm, e.codeNumber);
    }
    if (e.code === "INTERNAL") ctx.log.error({ err, method: method.name }, "handler failed");
    else ctx.log.debug({ code: e.code, msg: e.message, method: method.name }, "handler refused");
    this.replyError(msg, e.code === "INTERNAL" ? new SwitchyardError("INTERNAL", `internal error in ${this.def.name}.${method.name}: report request id ${ctx.requestId}`) : e);
  }

  /** One span per handled request of a traced request (only while spans are exported). */
  private recordSpan(method: Method, ctx: HandlerContextImpl, errorCode: number): void {
    const t = ctx.trace;
    if (t === null) return;
    this.spans!.record({
      traceId: t.traceId,
      spanId: t.spanId,
      parentSpanId: t.parentSpanId,
      name: `${this.def.name}.${method.name}`,
      startMs: ctx.startMs,
      endMs: nowMs(),
      errorCode,
      attributes: { "switchyard.instance": this.instanceId, "switchyard.request_id": ctx.requestId },
    });
  }

  private settled(): void {
    this.counters.inflight--;
    if (this.counters.inflight === 0 && this.idleWaiters.length > 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private replyError(msg: Msg, err: SwitchyardError): void {
    respondWithError(msg, err);
  }

  private async runDrain(): Promise<void> {
    if (this.state === LifecycleState.stopped) return;
    this.state = LifecycleState.draining;
    this.counters.draining = true;
    const timeoutMs = this.config.modules[this.def.name]?.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.log.info({ inflight: this.counters.inflight, timeoutMs }, "draining");
    let failure: Error | null = null;
    try {
      // Leave the queue group first: new requests go to other instances (or fail fast with
      // UNAVAILABLE when there are none); messages already delivered to us are still handled.
      await Promise.all([this.serviceSub?.drain(), this.trustedServiceSub?.drain()]);
      await this.def.onDrain?.(this.runtime, this.instanceState);
      if (this.def.drained) {
        await Promise.race([withTimeout(this.def.drained(this.runtime, this.instanceState), timeoutMs, "drained() did not resolve"), this.stopRequested]);
      }
      await Promise.race([this.quiet(QUIET_BEFORE_UNSUBSCRIBE_MS), this.stopRequested]);
      await Promise.all([this.instanceSub?.drain(), this.trustedInstanceSub?.drain()]);
      await withTimeout(this.whenIdle(), timeoutMs, `${this.counters.inflight} requests still running`);
      this.runtime.clearTimers();
      await this.def.onStop?.(this.runtime, this.instanceState);
    } catch (err) {
      failure = err as Error;
      this.log.warn({ err: failure.message }, "drain incomplete");
    }
    await this.runtime.close().catch(() => undefined);
    this.mux.close();
    await this.spans?.close();
    await this.announcement?.stop().catch(() => undefined);
    await this.nc.drain().catch(() => undefined);
    this.state = LifecycleState.stopped;
    this.log.info({ served: this.served, errors: this.errors }, "stopped");
    this.resolveStopped(failure);
  }

  /** Resolves once no message arrived for `ms` (checked every `ms`). */
  private async quiet(ms: number): Promise<void> {
    for (;;) {
      const seen = this.arrivals;
      await new Promise((r) => setTimeout(r, ms));
      if (this.arrivals === seen || this.state === LifecycleState.stopped) return;
    }
  }

  private whenIdle(): Promise<void> {
    if (this.counters.inflight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}

/** Reply headers that never change, encoded once (pre-encoded bytes while the fast path is on). */
function constantHeaders(name: string, value: string): MsgHdrs {
  const h = natsHeaders();
  h.set(name, value);
  return natsFastPaths.write ? preEncodedHeaders(Buffer.from(libraryHeaderBytes(h))) : h;
}

/** "<module>/<instanceId>" → CallerRef; a bare name is a caller without an instance id. */
function parseCaller(stamp: string): CallerRef {
  const slash = stamp.indexOf("/");
  return slash < 0 ? { module: stamp, instanceId: "" } : { module: stamp.slice(0, slash), instanceId: stamp.slice(slash + 1) };
}

function toSwitchyardError(err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  if (isStorageError(err)) {
    return new SwitchyardError("UNAVAILABLE", "storage (Redis) is unreachable: retry in a moment", { cause: err });
  }
  return new SwitchyardError("INTERNAL", undefined, { cause: err });
}

/** A primary without a replica (min-replicas-to-write), a demoted one, one still loading. */
const REFUSED_BY_REDIS = /^(NOREPLICAS|READONLY|LOADING|MASTERDOWN) /;

/** The errors ioredis attaches to an EXECABORT: those of the MULTI's commands. */
function previousErrors(err: Error): Error[] {
  const list = (err as { previousErrors?: unknown }).previousErrors;
  return Array.isArray(list) ? list.filter((e): e is Error => e instanceof Error) : [];
}

function isStorageError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === "MaxRetriesPerRequestError" ||
    /Connection is closed|Command timed out|ECONNREFUSED|Stream isn't writeable|ECONNRESET|All sentinels are unreachable/.test(err.message) ||
    REFUSED_BY_REDIS.test(err.message) ||
    // A MULTI whose commands a primary without a replica refused.
    (err.message.startsWith("EXECABORT") && previousErrors(err).some((e) => REFUSED_BY_REDIS.test(e.message)))
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`drain timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

