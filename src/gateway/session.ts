import type { Socket } from "node:net";
import type { MsgHdrs } from "nats";
import { HeaderTemplate } from "../bus/encoded-headers.js";
import { Header } from "../bus/headers.js";
import { instanceSubject } from "../bus/subjects.js";
import { FrameDecoder, type FrameSink, type FramingError } from "../protocol/framing.js";
import { stampSeq } from "../protocol/packet.js";
import type { HeldPush } from "./push-overlap.js";
import { RecentPushes } from "./recent-pushes.js";
import type { AwayState } from "./resume-store.js";
import { RateLimiter, type RateVerdict } from "./rate-limit.js";
import { RequestLane } from "./request-lane.js";
import { SocketWriter, type OverflowSink, type WritableSocket, type WriteScheduler } from "./socket-writer.js";

/** What a session reports to the gateway that holds it (one object, no closure per frame). */
export interface SessionHost {
  /** One complete frame from the client; `frame` is valid only during the call. */
  onFrame(session: Session, frame: Buffer): void;
  /** The byte stream broke the framing rules (oversized or empty frame). */
  onFramingError(session: Session, err: FramingError): void;
  /** The client reads too slowly: `pendingBytes` of output are waiting. */
  onSlowReader(session: Session, pendingBytes: number): void;
  /**
   * A push (stamped with `seq`) for a session whose connection dropped: keep it for its resume.
   * `pushId` is the publication id of a channel message ("" for others).
   */
  keepAway(session: Session, seq: number, frame: Buffer, pushId: string): void;
  /**
   * The channels or pins of a bound session changed: they are kept in Redis, where a resume
   * after this gateway's death finds them (see ResumeStore.keepMembership).
   */
  keepMembership(session: Session): void;
}

/** Per-session limits, taken from GatewaySettings. */
export interface SessionLimits {
  maxFrameBytes: number;
  maxPendingOutputBytes: number;
  rateLimit: { perSecond: number; burst: number };
  /** Pushes a bound session remembers for a resume (0: none, resume off). */
  recentPushes: number;
}

/** What every session of one gateway shares: one object, referenced by each session. */
export interface SessionContext {
  readonly gatewayId: string;
  readonly limits: SessionLimits;
  readonly scheduler: WriteScheduler;
  readonly host: SessionHost;
}

/** The session a gateway socket belongs to, kept on the socket (see `sessionOf`). */
const SESSION = Symbol("switchyard.session");

/** A socket that carries its session under the SESSION symbol. */
type SessionSocket = Socket & { [SESSION]?: Session };

/**
 * The session of a socket accepted by a gateway, or undefined. Lets the gateway register one
 * shared listener per socket event instead of a closure per socket.
 */
export function sessionOf(socket: Socket): Session | undefined {
  return (socket as SessionSocket)[SESSION];
}

/** How a client connection is carried: a TCP byte stream or WebSocket messages. */
export type Transport = "tcp" | "ws";

/** How long a closed connection may take to read its last frames before it is destroyed. */
export const CLOSE_GRACE_MS = 2_000;

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
 * channels. An idle connection holds only this object: the decoder is made on the first bytes
 * received, the rate limiter on the first frame, the writer on the first frame sent, lanes,
 * pins, channels and headers on first use. The NATS headers stamped on its requests are encoded
 * once and again only when the uid changes; per request only the `sy-rid` value is copied.
 *
 * This class is the TCP transport (length-prefixed frames on a byte stream); WsSession
 * overrides the transport seam (`transport`, `receiveMessage`, `outputSocket`, `end`) and
 * shares everything else.
 */
export class Session implements FrameSink, OverflowSink {
  /** Session id, unique within the gateway. */
  readonly sid: number;
  readonly socket: Socket;
  /** Bound user id, null before login. */
  uid: string | null = null;
  /** Requests forwarded and not yet answered. */
  inflight = 0;
  /** Last time (ms) bytes arrived from the client. */
  lastActive: number;
  /** When the connection was accepted (ms). */
  readonly connectedAt: number;
  /** True once a complete frame arrived: until then the first-packet timeout applies. */
  greeted = false;
  /** When the first bytes of the incomplete frame arrived (ms), 0 between frames (frame timeout). */
  frameStartedAt = 0;
  /** Packets received from the client (uint32): a KICK MOVED tells it, so it resends the rest. */
  packetsRead = 0;
  /** Set once when the session starts closing; nothing is sent after. */
  closed = false;
  /** The client's IP address as the socket saw it ("" if unknown); stamped on forwarded messages. */
  readonly address: string;
  /** Highest push sequence number sent to the bound uid (0: none yet). */
  seq = 0;
  /** Set while the connection is gone and the session waits for a resume (its pushes go to Redis). */
  away: AwayState | null = null;
  /** Set when a resume elsewhere takes this session over (what it stored stays valid). */
  handedOver = false;
  /** Set while a resume prepares or replays: unstamped pushes waiting to follow the replayed ones. */
  holding: HeldPush[] | null = null;
  /** The uid a resume prepares this session for (Bind.prepare), until its bind comes. */
  prepared: string | null = null;
  /** Set once the channels or pins of the bound uid were written to Redis while connected (removed when it ends cleanly). */
  tied = false;
  /** A module took the session out of a channel while it was away (see Gateway.keepMembership). */
  leftWhileAway = false;
  /** A write of the channels and pins is queued for the end of this turn (several changes, one write). */
  private membershipQueued = false;
  /** Point pushes that arrived before the session's bind (see CommandHandler): pushed after it. */
  beforeBind: Buffer[] | null = null;
  /** The last pushes sent (bound sessions with resume on only). */
  private recent: RecentPushes | null = null;
  /** Channels this session is a member of (null until the first join). */
  channels: Set<string> | null = null;
  private readonly ctx: SessionContext;
  private decoder: FrameDecoder | null = null;
  private writer: SocketWriter | null = null;
  private limiter: RateLimiter | null = null;
  private pins: Map<string, Pin> | null = null;
  /** Ordered request lanes by module, created on the first request to that module. */
  private lanes: Map<string, RequestLane> | null = null;
  /** Built on the first forwarded request: an idle connection does not pay for it. */
  private hdrs: HeaderTemplate | null = null;

  /** Creates the session of `socket` and marks the socket with it (see `sessionOf`). */
  constructor(sid: number, socket: Socket, ctx: SessionContext, now: number, address = "") {
    this.sid = sid;
    this.address = address;
    this.socket = socket;
    this.ctx = ctx;
    this.lastActive = now;
    this.connectedAt = now;
    (socket as SessionSocket)[SESSION] = this;
  }

  /** The transport of this session (a prototype getter: no field per session). */
  get transport(): Transport {
    return "tcp";
  }

  /** Peer address for logs (read on demand: caching it costs every idle socket an object). */
  get remote(): string {
    return `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? 0}`;
  }

  /** Feeds bytes received at `now` from the client; frames go to the host's `onFrame`. */
  receive(chunk: Buffer, now: number): void {
    this.lastActive = now;
    const decoder = (this.decoder ??= new FrameDecoder(this.ctx.limits.maxFrameBytes, this));
    const decoded = decoder.framesDecoded;
    decoder.push(chunk);
    if (decoder.buffered === 0) this.frameStartedAt = 0;
    else if (this.frameStartedAt === 0 || decoder.framesDecoded !== decoded) this.frameStartedAt = now;
  }

  /**
   * One complete packet received at `now` as a whole message (WebSocket): no framing, the
   * message is the packet. `packet` is valid only during the call.
   */
  receiveMessage(packet: Buffer, now: number): void {
    this.lastActive = now;
    this.greeted = true;
    this.ctx.host.onFrame(this, packet);
  }

  /** Takes one token of the session's rate limit at `now` (see RateLimiter.take). */
  rate(now: number): RateVerdict {
    if (this.limiter === null) {
      const rl = this.ctx.limits.rateLimit;
      this.limiter = new RateLimiter(rl.perSecond, rl.burst, now);
    }
    return this.limiter.take(now);
  }

  /**
   * Queues one complete frame for the client (see SocketWriter.write: the same Buffer may go to
   * many sessions). False once the session's writer stopped or the session closed.
   */
  write(frame: Buffer): boolean {
    const writer = this.output();
    return writer !== null && writer.write(frame);
  }

  /** The session's writer, made on the first frame sent; null when closed before any. */
  private output(): SocketWriter | null {
    if (this.writer === null) {
      if (this.closed) return null;
      this.writer = new SocketWriter(this.outputSocket(), this.ctx.scheduler, this.ctx.limits.maxPendingOutputBytes, this);
    }
    return this.writer;
  }

  /**
   * Sends one PUSH frame (shared by many sessions, see `write`): to a bound uid with its next
   * seq appended at write time (the frame itself is never copied per session), and kept among
   * the recent ones; while away, stamped and handed to the host to store.
   * `pushId`: the publication id of a channel message ("" for others; see push-overlap.ts).
   */
  push(frame: Buffer, pushId = ""): boolean {
    if (this.holding !== null) {
      this.holding.push({ frame, id: pushId });
      return true;
    }
    if (this.uid === null) return this.write(frame);
    const seq = ++this.seq;
    if (this.away !== null) {
      this.ctx.host.keepAway(this, seq, stampSeq(frame, seq), pushId);
      return true;
    }
    const keep = this.ctx.limits.recentPushes;
    if (keep > 0) (this.recent ??= new RecentPushes(keep)).add(frame, seq);
    const writer = this.output();
    return writer !== null && writer.writeStamped(frame, seq);
  }

  /** The recent pushes (oldest first, stamped copies) and their seqs: what may have died in the socket. */
  recentPushes(): { frames: Buffer[]; seqs: number[] } {
    return this.recent === null ? { frames: [], seqs: [] } : this.recent.stamped();
  }

  /** The pins as module → instance pairs (for a resume elsewhere). */
  pinList(): [string, string][] {
    return this.pins === null ? [] : [...this.pins].map(([module, pin]) => [module, pin.instance]);
  }

  /** Reads nothing more from the client (a drain): what it sends stays unread in the socket. */
  pauseReading(): void {
    this.socket.pause();
  }

  /** Writes what is queued and accepts nothing more (before a KICK's close). */
  stopWriting(): void {
    this.writer?.stop();
  }

  /**
   * Ends the connection after what was written: `code` is the KICK's ErrorCode (0: none) and
   * `reason` its message. A connection that does not close within CLOSE_GRACE_MS is destroyed.
   */
  end(_code: number, _reason: string): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Where this session's frames (length-prefixed, see encodeFrame) are written. */
  protected outputSocket(): WritableSocket {
    return this.socket;
  }

  /** @internal FrameSink: one frame from the client. */
  onFrame(frame: Buffer): void {
    this.greeted = true;
    this.ctx.host.onFrame(this, frame);
  }

  /** @internal FrameSink: the client broke the framing rules. */
  onFramingError(err: FramingError): void {
    this.ctx.host.onFramingError(this, err);
  }

  /** @internal OverflowSink: the client reads too slowly. */
  onOverflow(pendingBytes: number): void {
    this.ctx.host.onSlowReader(this, pendingBytes);
  }

  /**
   * Sets (or clears) the bound uid and rebuilds the cached headers. A different uid drops the
   * pins: they were granted to the old identity (its room), not to the connection.
   */
  setUid(uid: string | null): void {
    if (uid === this.uid) return;
    this.uid = uid;
    this.hdrs = null;
    this.pins = null;
    this.seq = 0;
    this.recent = null;
    this.tied = false;
  }

  /**
   * The session's headers with `sy-rid` set to `rid` and `traceparent` to `traceparent` (both
   * ASCII), encoded; for `nc.publish` only.
   */
  headersFor(rid: string, traceparent: string): MsgHdrs {
    this.hdrs ??= this.buildHeaders();
    return this.hdrs.with(rid, traceparent);
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
      if (this.pins?.delete(module) === true) this.membershipChanged();
      return;
    }
    if (this.pins === null) this.pins = new Map();
    const cur = this.pins.get(module);
    if (cur !== undefined && cur.instance === instance) return;
    this.pins.set(module, { instance, subjects: new Map() });
    this.membershipChanged();
  }

  /** The channels or pins changed: one write to Redis at the end of this turn (see SessionHost.keepMembership). */
  membershipChanged(): void {
    if (this.uid === null || this.membershipQueued) return;
    this.membershipQueued = true;
    queueMicrotask(() => {
      this.membershipQueued = false;
      if (!this.closed && this.uid !== null) this.ctx.host.keepMembership(this);
    });
  }

  private buildHeaders(): HeaderTemplate {
    const fixed: [string, string][] = [
      [Header.gateway, this.ctx.gatewayId],
      [Header.session, String(this.sid)],
    ];
    if (this.address !== "") fixed.push([Header.address, this.address]);
    if (this.uid !== null) fixed.push([Header.uid, this.uid]);
    return new HeaderTemplate(fixed, Header.requestId, Header.traceparent);
  }
}
