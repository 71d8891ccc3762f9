import type { Logger } from "../log/logger.js";
import { SwitchyardError } from "../protocol/errors.js";
import type { cluster } from "../generated/proto.js";
import type { BindResult, CallOptions, CallerRef, HandlerContext, ResumePoint, SessionRef } from "./define.js";
import type { ModuleRuntimeImpl } from "./runtime.js";
import { continueTrace, type TraceContext } from "../tracing/trace-context.js";
import { isGatewayGone } from "../bus/reply-mux.js";

const NOT_BOUND_CODE = 3; // wire.ErrorCode.FORBIDDEN, sent with the kick of a replaced session

/** What a reply should tell the gateway about sticky routing. */
export type PinChange = "pin" | "unpin" | null;

/** The per-request context handed to a handler. */
export class HandlerContextImpl implements HandlerContext {
  readonly requestId: string;
  readonly session: SessionRef | null;
  readonly caller: CallerRef | null;
  readonly module: ModuleRuntimeImpl;
  readonly state: unknown;
  /** Set by pin()/unpin(); read by the host when it replies. */
  pinChange: PinChange = null;
  /** Instance named by pin(instanceId); null pins to the answering instance. */
  pinTarget: string | null = null;
  /** performance.now() when the request arrived (set only while metrics are on). */
  startedAt = 0;
  /** Wall-clock ms when the request arrived (set only while spans are exported). */
  startMs = 0;
  /** The `traceparent` the request carried ("" when none). */
  private readonly traceparent: string;
  /** undefined until `trace` is first read. */
  private traceContext: TraceContext | null | undefined = undefined;
  private logger: Logger | null = null;

  constructor(rt: ModuleRuntimeImpl, state: unknown, requestId: string, session: SessionRef | null, caller: CallerRef | null, traceparent = "") {
    this.module = rt;
    this.traceparent = traceparent;
    this.state = state;
    this.requestId = requestId;
    this.session = session;
    this.caller = caller;
  }

  /** This handler's span in the request's trace, opened on first use (most handlers never ask). */
  get trace(): TraceContext | null {
    if (this.traceContext === undefined) this.traceContext = continueTrace(this.traceparent, this.module.spanIds);
    return this.traceContext;
  }

  get settings(): unknown {
    return this.module.settings;
  }

  /** Child logger with the request id, created on first use (most requests never log). */
  get log(): Logger {
    if (this.logger === null) this.logger = this.module.log.child({ rid: this.requestId });
    return this.logger;
  }

  requireUid(): string {
    const uid = this.session?.uid;
    if (!uid) throw new SwitchyardError("UNAUTHENTICATED");
    return uid;
  }

  requireCaller(): CallerRef {
    if (this.caller === null) {
      throw new SwitchyardError("FORBIDDEN", "this route is for modules and operators only (a trusted call, e.g. `switchyard ctl call`), not for clients");
    }
    return this.caller;
  }

  call(route: string, req: object, opts?: CallOptions): Promise<never> {
    return this.module.callAs(route, req, opts, this.session, this.requestId, this.trace?.traceparent ?? null);
  }

  push(targets: SessionRef | readonly SessionRef[], route: string, msg: object): void {
    this.module.push(targets, route, msg);
  }

  async bind(uid: string, resume?: ResumePoint): Promise<BindResult> {
    const s = this.requireSession();
    const me = { gatewayId: s.gatewayId, sid: s.sid };
    // A login as someone else on this connection: the old uid no longer lives here, so a push
    // or kick for it must not find this session.
    if (s.uid !== null && s.uid !== uid) await this.module.onlineTable().release(s.uid, me);
    // A resume: this session first joins the channels the uid's older session keeps and holds
    // its pushes, so what is published while that session ends reaches one of them (README
    // "Gateway moves"); the replay then drops what both got.
    if (resume !== undefined) await this.module.command(s.gatewayId, { bind: bindCommand(s.sid, uid, { prepare: true }) });
    const prev = await this.module.onlineTable().claim(uid, me);
    let previousLost = false;
    let previousGateway = "";
    if (prev !== null && (prev.gatewayId !== me.gatewayId || prev.sid !== me.sid)) {
      // The older session goes first, so two sessions of one uid are never bound at once.
      await this.module.kick({ gatewayId: prev.gatewayId, sid: prev.sid, uid }, NOT_BOUND_CODE, "logged in from another connection", resume !== undefined).catch((err: unknown) => {
        // Its gateway is dead: what it held is lost, the pushes meant for it wait in the uid's pending list.
        previousLost = isGatewayGone(err);
        if (previousLost) previousGateway = prev.gatewayId;
        this.log.info({ err: (err as Error).message, prev }, "previous session already gone");
      });
    }
    let result: BindResult;
    try {
      const listed = resume?.recentPubs;
      const ack = await this.module.command(s.gatewayId, {
        bind: bindCommand(s.sid, uid, { resume: resume !== undefined, lastSeq: resume?.lastSeq ?? 0, previousLost, previousGateway, listsPubs: listed !== undefined, recentPubs: [...(listed ?? [])] }),
      });
      result = { resumeCode: ack.resumeCode, replayed: ack.replayed };
    } catch (err) {
      await this.module.onlineTable().release(uid, me).catch(() => undefined);
      throw err;
    }
    this.module.announceOpened({ gatewayId: s.gatewayId, sid: s.sid, uid });
    return result;
  }

  async unbind(): Promise<void> {
    const s = this.requireSession();
    await this.module.command(s.gatewayId, { bind: bindCommand(s.sid, "", {}) });
  }

  pin(instanceId?: string): void {
    this.pinChange = "pin";
    this.pinTarget = instanceId ?? null;
  }

  unpin(): void {
    this.pinChange = "unpin";
  }

  joinChannel(channel: string): Promise<void> {
    return this.module.joinChannel(this.requireSession(), channel);
  }

  leaveChannel(channel: string): Promise<void> {
    return this.module.leaveChannel(this.requireSession(), channel);
  }

  private requireSession(): SessionRef {
    if (this.session === null) {
      throw new SwitchyardError("BAD_REQUEST", "this action needs a client session, but the request came from a module without one");
    }
    return this.session;
  }
}

/** A cluster.Bind with the fields not given at their defaults. */
function bindCommand(sid: number, uid: string, given: Partial<cluster.Bind>): cluster.Bind {
  return { sid, uid, resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [], ...given };
}
