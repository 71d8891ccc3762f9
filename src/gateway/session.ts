import type { Socket } from "node:net";
import type { MsgHdrs } from "nats";
import { HeaderTemplate } from "../bus/encoded-headers.js";
import { Header } from "../bus/headers.js";
import { instanceSubject } from "../bus/subjects.js";
import { FrameDecoder, type FramingError } from "../protocol/framing.js";
import { RateLimiter } from "./rate-limit.js";
import { RequestLane } from "./request-lane.js";
import { SocketWriter, type WriteScheduler } from "./socket-writer.js";

/** What a session reports to the gateway that holds it (one object, no closure per frame). */
export interface SessionHost {
  /** One complete frame from the client; `frame` is valid only during the call. */
  onFrame(session: Session, frame: Buffer): void;
  /** The byte stream broke the framing rules (oversized or empty frame). */
  onFramingError(session: Session, err: FramingError): void;
  /** The client reads too slowly: `pendingBytes` of output are waiting. */
  onSlowReader(session: Session, pendingBytes: number): void;
}

/** Per-session limits, taken from GatewaySettings. */
export interface SessionLimits {
  maxFrameBytes: number;
  maxPendingOutputBytes: number;
  rateLimit: { perSecond: number; burst: number };
}

/** Idle request lanes a session keeps for reuse; the usual client talks to a handful of modules. */
const MAX_KEPT_LANES = 16;

/** Where a session's requests to one module go while it is pinned to an instance. */
interface Pin {
  instance: string;
  /** method → `inst.<instance>.<method>`, built on first use. */
  subjects: Map<string, string>;
}

/**
 * One client connection: its id, bound user, decoder, batched writer, rate limiter, pins and
 * channels. The NATS headers stamped on its requests are encoded once and again only when the
 * uid changes; per request only the `sy-rid` value is copied into the cached bytes.
 */
export class Session {
  /** Session id, unique within the gateway. */
  readonly sid: number;
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  readonly writer: SocketWriter;
  readonly limiter: RateLimiter;
  /** Peer address for logs. */
  readonly remote: string;
  /** Bound user id, null before login. */
  uid: string | null = null;
  /** Requests forwarded and not yet answered. */
  inflight = 0;
  /** Last time (ms) bytes arrived from the client. */
  lastActive: number;
  /** Set once when the session starts closing; nothing is sent after. */
  closed = false;
  /** Channels this session is a member of (null until the first join). */
  channels: Set<string> | null = null;
  private pins: Map<string, Pin> | null = null;
  /** Ordered request lanes by module, created on the first request to that module. */
  private lanes: Map<string, RequestLane> | null = null;
  private readonly gatewayId: string;
  /** Built on the first forwarded request: an idle connection does not pay for it. */
  private hdrs: HeaderTemplate | null = null;

  constructor(sid: number, socket: Socket, gatewayId: string, limits: SessionLimits, scheduler: WriteScheduler, host: SessionHost, now: number) {
    this.sid = sid;
    this.socket = socket;
    this.gatewayId = gatewayId;
    this.remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`;
    this.lastActive = now;
    this.limiter = new RateLimiter(limits.rateLimit.perSecond, limits.rateLimit.burst, now);
    this.decoder = new FrameDecoder(
      limits.maxFrameBytes,
      (frame) => host.onFrame(this, frame),
      (err) => host.onFramingError(this, err),
    );
    this.writer = new SocketWriter(socket, scheduler, limits.maxPendingOutputBytes, (pending) => host.onSlowReader(this, pending));
  }

  /** Sets (or clears) the bound uid and rebuilds the cached headers. */
  setUid(uid: string | null): void {
    if (uid === this.uid) return;
    this.uid = uid;
    this.hdrs = null;
  }

  /** The session's headers with `sy-rid` set to `rid` (ASCII), encoded; for `nc.publish` only. */
  headersFor(rid: string): MsgHdrs {
    this.hdrs ??= this.buildHeaders();
    return this.hdrs.with(rid);
  }

  /** Subject of `method` on the instance this session is pinned to for `module`, or null. */
  pinnedSubject(module: string, method: string): string | null {
    const pin = this.pins?.get(module);
    if (pin === undefined) return null;
    let subject = pin.subjects.get(method);
    if (subject === undefined) {
      subject = instanceSubject(pin.instance, method);
      pin.subjects.set(method, subject);
    }
    return subject;
  }

  /** The ordered lane of this session's requests to `module` (created on first use). */
  lane(module: string): RequestLane {
    if (this.lanes === null) this.lanes = new Map();
    let lane = this.lanes.get(module);
    if (lane === undefined) {
      lane = new RequestLane();
      this.lanes.set(module, lane);
    }
    return lane;
  }

  /**
   * Called when `module`'s lane has nothing out: past a few modules the idle lane is dropped,
   * so a client calling many (or made-up) modules cannot grow the session's memory.
   */
  laneIdle(module: string): void {
    if (this.lanes !== null && this.lanes.size > MAX_KEPT_LANES) this.lanes.delete(module);
  }

  /** Instance this session is pinned to for `module`, or null. */
  pinnedInstance(module: string): string | null {
    return this.pins?.get(module)?.instance ?? null;
  }

  /** Pins requests to `module` to `instance`; an empty instance clears the pin. */
  setPin(module: string, instance: string): void {
    if (instance === "") {
      this.pins?.delete(module);
      return;
    }
    if (this.pins === null) this.pins = new Map();
    const cur = this.pins.get(module);
    if (cur !== undefined && cur.instance === instance) return;
    this.pins.set(module, { instance, subjects: new Map() });
  }

  private buildHeaders(): HeaderTemplate {
    const fixed: [string, string][] = [
      [Header.gateway, this.gatewayId],
      [Header.session, String(this.sid)],
    ];
    if (this.uid !== null) fixed.push([Header.uid, this.uid]);
    return new HeaderTemplate(fixed, Header.requestId);
  }
}
