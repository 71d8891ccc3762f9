import { randomBytes } from "node:crypto";
import type { Msg } from "nats";
import { DEFAULT_MESSAGES, ErrorCode, codeName } from "../protocol/errors.js";
import { Header } from "../bus/headers.js";
import { ORDERED_RID_SUFFIX } from "../bus/ordered-requests.js";
import { isNoResponders, type ReplyMux } from "../bus/reply-mux.js";
import type { Logger } from "../log/logger.js";
import { RefusalReason, type GatewayMetrics, type RouteMetrics } from "../metrics/gateway-metrics.js";
import { PacketKind, encodeFrame, type Packet } from "../protocol/packet.js";
import { formatTraceparent, SpanIds } from "../tracing/trace-context.js";
import { nowMs, type SpanSink } from "../tracing/span-exporter.js";
import { RequestLane } from "./request-lane.js";
import { RouteCache, type RouteInfo } from "./route-cache.js";
import type { Session } from "./session.js";

/** Settings the forwarder reads (a subset of GatewaySettings). */
export interface ForwarderSettings {
  publicRoutes: string[];
  requestTimeoutMs: number;
  maxInFlightPerSession: number;
  /**
   * Modules whose requests of one session may be handled concurrently and answered in any
   * order (cluster config `modules.<name>.ordered: false`). Every other module gets the
   * requests of a session in the order sent, handled one at a time (see RequestLane).
   */
  unorderedModules?: readonly string[];
}

/** Counters reported in the gateway's load. */
export interface ForwarderStats {
  /** Requests forwarded to a module. */
  served: number;
  /** Requests answered with an ERROR (refused here or failed upstream). */
  errors: number;
  /** Notifies forwarded to a module. */
  notified: number;
}

/**
 * The id a NOTIFY travels under inside the gateway. A REQUEST never has id 0 (the gateway
 * refuses it), so a pending entry or a queued lane entry with this id is a NOTIFY: it holds an
 * in-flight slot and its lane like a request, and its reply is dropped unless it is an error,
 * which the client gets as ERROR with id 0.
 */
export const NOTIFY_ID = 0;

/** The one object kept per forwarded request until its reply (or timeout) arrives. */
interface PendingRequest {
  forwarder: Forwarder;
  session: Session;
  /** Client request id, or NOTIFY_ID for a NOTIFY. */
  id: number;
  info: RouteInfo;
  pinned: boolean;
  /** The ordered lane this request holds, or null for an unordered module. */
  lane: RequestLane | null;
  /**
   * Sent straight to the lane's instance: a copy of its body, sent again should that instance
   * be gone (no responders); null otherwise.
   */
  resend: Uint8Array | null;
  /** The route's metric children, null when metrics are off. */
  rm: RouteMetrics | null;
  /** performance.now() when forwarded (0 when metrics are off). */
  startedAt: number;
  /** The gateway span of this request ("" unless spans are exported). */
  traceId: string;
  spanId: string;
  /** Wall-clock ms when forwarded (0 unless spans are exported). */
  startMs: number;
}

/** Reply callback shared by every request: the request's state travels as `ctx`, no closure. */
function onReply(p: PendingRequest, code: number, message: string, msg: Msg | null): void {
  p.forwarder.complete(p, code, message, msg);
}

const MAX_ROUTE_IN_MESSAGE = 100;
const SHUTTING_DOWN = "gateway is shutting down, reconnect";

/**
 * Forwards client REQUESTs and NOTIFYs to module subjects and turns replies into RESPONSE or
 * ERROR frames: the auth gate (public routes before bind), per-session in-flight limit, pins,
 * and per-session ordering (per session and module, pipelined to one instance, see RequestLane).
 * A NOTIFY is sent as a NATS request too, so it is bounded and ordered like a request; only
 * its reply is handled differently (see NOTIFY_ID). Bodies are never decoded.
 */
export class Forwarder {
  /** Live counters. */
  readonly stats: ForwarderStats = { served: 0, errors: 0, notified: 0 };
  /** Ordered lanes: messages sent straight to an instance, and those sent again after a bounce. */
  readonly laneStats = { pipelined: 0, resent: 0 };
  /** Set when the gateway drains: new requests are refused at once. */
  draining = false;
  private readonly mux: ReplyMux;
  private readonly routes: RouteCache;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  /** Modules that opted out of per-session ordering. */
  private readonly unordered: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly debug: boolean;
  private readonly metrics: GatewayMetrics | null;
  private readonly spans: SpanSink | null;
  private readonly ids = new SpanIds();
  private readonly gatewayId: string;
  /** `<gwId>-<random>-`: request ids stay unique across restarts of a gateway with the same id. */
  private readonly ridPrefix: string;
  private ridCounter = 0;

  constructor(mux: ReplyMux, gatewayId: string, settings: ForwarderSettings, log: Logger, metrics: GatewayMetrics | null = null, spans: SpanSink | null = null) {
    this.metrics = metrics;
    this.spans = spans;
    this.gatewayId = gatewayId;
    this.mux = mux;
    this.routes = new RouteCache(settings.publicRoutes);
    this.timeoutMs = settings.requestTimeoutMs;
    this.maxInFlight = settings.maxInFlightPerSession;
    this.unordered = new Set(settings.unorderedModules ?? []);
    this.log = log;
    this.debug = log.isLevelEnabled("debug");
    this.ridPrefix = `${gatewayId}-${randomBytes(3).toString("hex")}-`;
  }

  /** Requests waiting for a reply, gateway-wide. */
  get inflight(): number {
    return this.mux.pending;
  }

  /** Handles a REQUEST packet: forwards it, or answers ERROR at once. */
  request(session: Session, p: Packet): void {
    this.admit(session, p.id, p);
  }

  /**
   * Handles a NOTIFY packet exactly like a request (auth gate, in-flight cap, ordered lane),
   * except that its success reply is not sent to the client; a refusal is sent as ERROR with
   * id 0 (see NOTIFY_ID).
   */
  notify(session: Session, p: Packet): void {
    this.admit(session, NOTIFY_ID, p);
  }

  /** The checks every client message passes before it is forwarded or queued. */
  private admit(session: Session, id: number, p: Packet): void {
    if (this.draining) {
      this.refuse(session, id, RefusalReason.draining, ErrorCode.UNAVAILABLE, SHUTTING_DOWN);
      return;
    }
    const info = this.routes.lookup(p.route);
    if (info === null) {
      this.refuse(session, id, RefusalReason.badRoute, ErrorCode.BAD_REQUEST, badRoute(p.route));
      return;
    }
    if (session.uid === null && !info.isPublic) {
      this.refuse(session, id, RefusalReason.unauthenticated, ErrorCode.UNAUTHENTICATED, DEFAULT_MESSAGES.UNAUTHENTICATED);
      return;
    }
    if (session.inflight >= this.maxInFlight) {
      this.refuse(
        session,
        id,
        RefusalReason.inflightLimit,
        ErrorCode.RATE_LIMITED,
        `more than ${this.maxInFlight} requests and notifies in flight on this connection: wait for answers before sending more`,
      );
      return;
    }
    session.inflight++;
    const pinned = session.pinnedSubject(info.module, info.method);
    if (this.unordered.has(info.module)) {
      this.send(session, id, info, p.body, pinned ?? info.subject, pinned !== null, null, null);
      return;
    }
    const lane = session.lane(info.module);
    const subject = lane.mayPass ? lane.target(info, pinned, Date.now()) : null;
    if (subject === null) {
      // Earlier messages of this session to this module are out and no instance is known to
      // take them in order (or some wait already): wait behind them.
      lane.enqueue(id, info, p.body);
      return;
    }
    const direct = subject !== info.subject && subject !== pinned;
    this.send(session, id, info, p.body, subject, pinned !== null, lane, direct ? Buffer.from(p.body) : null);
  }

  /**
   * Publishes one request to `subject`. `lane` is its ordered lane (its request id then carries
   * ORDERED_RID_SUFFIX: the module host runs it in arrival order and names itself); `resend`
   * see PendingRequest.
   */
  private send(session: Session, id: number, info: RouteInfo, body: Uint8Array, subject: string, pinned: boolean, lane: RequestLane | null, resend: Uint8Array | null): void {
    let rid = this.ridPrefix + (++this.ridCounter).toString(36);
    if (lane !== null) {
      rid += ORDERED_RID_SUFFIX;
      lane.sent();
      if (resend !== null) this.laneStats.pipelined++;
    }
    if (this.debug) this.log.debug({ sid: session.sid, uid: session.uid, route: info.route, subject, rid, notify: id === NOTIFY_ID }, "forward");
    if (id === NOTIFY_ID) this.stats.notified++;
    else this.stats.served++;
    let rm: RouteMetrics | null = null;
    let startedAt = 0;
    if (this.metrics !== null) {
      rm = this.metrics.forRoute(info.route);
      if (id === NOTIFY_ID) rm.notifies++;
      else rm.requests++;
      startedAt = performance.now();
    }
    // Every request starts a trace here (clients send none); its span is this gateway's.
    const exported = this.spans !== null;
    const traceId = exported ? this.ids.nextTraceId() : "";
    const spanId = exported ? this.ids.nextSpanId() : "";
    const traceparent = exported ? formatTraceparent(traceId, spanId, true) : this.ids.nextRootTraceparent();
    const pending: PendingRequest = {
      forwarder: this,
      session,
      id,
      info,
      pinned,
      lane,
      resend,
      rm,
      startedAt,
      traceId,
      spanId,
      startMs: exported ? nowMs() : 0,
    };
    this.mux.send(subject, body, session.headersFor(rid, traceparent), this.timeoutMs, pending, onReply);
  }

  /** Sends what waits in `lane` as far as it may go now; marks the lane idle when it is. */
  private pump(session: Session, module: string, lane: RequestLane): void {
    if (session.closed) {
      session.inflight -= lane.clear();
      return;
    }
    const now = Date.now();
    for (let next = lane.peek(); next !== null; next = lane.peek()) {
      const info = next.info;
      const pinned = session.pinnedSubject(module, info.method);
      const subject = lane.target(info, pinned, now);
      if (subject === null) return;
      lane.shift();
      // Sent even while draining: it was accepted before, and the drain waits for it.
      const direct = subject !== info.subject && subject !== pinned;
      this.send(session, next.id, info, next.body, subject, pinned !== null, lane, direct ? next.body : null);
    }
    if (lane.out === 0) session.laneIdle(module);
  }

  /** Refuses a message the gateway will not forward: counted per reason, answered ERROR. */
  refuse(session: Session, id: number, reason: RefusalReason, code: number, message: string): void {
    this.metrics?.refused(reason);
    this.fail(session, id, code, message);
  }

  /** Sends ERROR(id, code, message) to the session and counts it. */
  fail(session: Session, id: number, code: number, message: string): void {
    this.stats.errors++;
    session.write(encodeFrame(PacketKind.ERROR, id, "", null, code, message));
  }

  /** Called once per forwarded request with its outcome (see ReplyMux). */
  complete(p: PendingRequest, code: number, message: string, msg: Msg | null): void {
    const lane = p.lane;
    if (lane === null) {
      this.answer(p, code, message, msg);
      return;
    }
    const now = Date.now();
    if (p.resend !== null && code === ErrorCode.UNAVAILABLE && isNoResponders(msg)) {
      // Never delivered (the instance left): not answered, sent again in its place in the order.
      this.laneStats.resent++;
      lane.bounce({ id: p.id, info: p.info, body: p.resend }, now);
    } else {
      const named = this.answer(p, code, message, msg);
      lane.settled(named, code === ErrorCode.TIMEOUT || code === ErrorCode.UNAVAILABLE, now);
    }
    this.pump(p.session, p.info.module, lane);
  }

  /** Answers the client; returns the instance the reply named (`sy-inst`), if it named one. */
  private answer(p: PendingRequest, code: number, message: string, msg: Msg | null): string | undefined {
    const session = p.session;
    session.inflight--;
    if (p.startMs !== 0) this.recordSpan(p, code);
    const rm = p.rm;
    if (rm !== null) {
      rm.duration.observe((performance.now() - p.startedAt) / 1000);
      if (code !== 0 || msg === null) this.metrics!.error(rm, code);
    }
    if (session.closed) return undefined; // the client is gone: the reply is dropped
    if (code === 0 && msg !== null) {
      const h = msg.headers;
      let named: string | undefined;
      if (h !== undefined) {
        if (h.has(Header.pin)) session.setPin(p.info.module, h.get(Header.pin));
        if (h.has(Header.instance)) named = h.get(Header.instance);
      }
      if (p.id !== NOTIFY_ID) session.write(encodeFrame(PacketKind.RESPONSE, p.id, "", msg.data));
      return named;
    }
    if (code === ErrorCode.UNAVAILABLE && p.pinned) session.setPin(p.info.module, "");
    if (this.debug) this.log.debug({ sid: session.sid, id: p.id, code, message }, "request failed");
    this.fail(session, p.id, code, message !== "" ? message : DEFAULT_MESSAGES[codeName(code)]);
    return undefined;
  }

  private recordSpan(p: PendingRequest, code: number): void {
    this.spans!.record({
      traceId: p.traceId,
      spanId: p.spanId,
      parentSpanId: "",
      name: p.info.route,
      startMs: p.startMs,
      endMs: nowMs(),
      errorCode: code,
      attributes: { "switchyard.gateway": this.gatewayId, "switchyard.module": p.info.module },
    });
  }
}

function badRoute(route: string): string {
  const shown = route.length > MAX_ROUTE_IN_MESSAGE ? `${route.slice(0, MAX_ROUTE_IN_MESSAGE)}…` : route;
  return `route ${JSON.stringify(shown)} is not "<module>.<Method>" (letters, digits, '_' and '-'): check the route name`;
}
