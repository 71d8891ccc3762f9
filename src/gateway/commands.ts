import type { Msg } from "nats";
import type { cluster } from "../generated/proto.js";
import type { Logger } from "../log/logger.js";
import type { MessageCodec } from "../proto/registry.js";
import { MAX_RECENT_PUBS, PacketKind, encodeFrame } from "../protocol/packet.js";
import { isLostProbe } from "../bus/subjects.js";
import type { ChannelHub } from "./channels.js";
import type { ResumeOutcome, SeenPubs } from "./resume-store.js";
import type { Session } from "./session.js";

/** What commands act on: the gateway, seen through the few operations they need. */
export interface CommandTarget {
  readonly id: string;
  /** When this gateway process started (unix ms): the answer to a Ping. */
  readonly startedAt: number;
  readonly channels: ChannelHub;
  /** Session by sid, or undefined. */
  session(sid: number): Session | undefined;
  /** Local sessions bound to `uid`. */
  sessionsOfUser(uid: string): Session[];
  /**
   * Sets (or with null clears) the uid of a session; when the uid changes, the session of the
   * old uid is announced as closed (sys.session.closed) and its pins are dropped.
   */
  bind(session: Session, uid: string | null): void;
  /** Sends KICK(code, reason), flushes, then closes the session. */
  kick(session: Session, code: number, reason: string): void;
  /**
   * Replays to a just-bound session what its uid missed after `lastSeq` (see Gateway.resume);
   * `lostGateway`: the uid's previous gateway, dead (its pending pushes are replayed too), or null.
   */
  resume(session: Session, lastSeq: number, lostGateway: string | null, seen: SeenPubs): Promise<ResumeOutcome>;
  /** Bind.prepare: joins what the uid's away session keeps and holds pushes until the resume. */
  prepare(session: Session, uid: string): Promise<void>;
  /** Stores a connected session as away (for a resume elsewhere); false when resume is off. */
  handOver(session: Session): boolean;
  /** Resolves once the pushes stored for away sessions reached Redis. */
  resumeWritesDone(): Promise<void>;
}

/** What a command's acknowledgement says besides ok/error. */
interface AckExtra {
  resumeCode: number;
  replayed: number;
  missingSids?: number[];
}

/** Codecs the command handler needs. */
export interface CommandCodecs {
  command: MessageCodec<cluster.GatewayCommand>;
  ack: MessageCodec<cluster.CommandAck>;
}

/** True when the sender waits for a CommandAck (not a module's lost-push probe, see lostProbeSubject). */
function wantsAck(msg: Msg): boolean {
  return msg.reply !== undefined && msg.reply !== "" && !isLostProbe(msg.reply);
}

/** Reason used when a kick carries none. */
const DEFAULT_KICK_REASON = "closed by the server";
/** Most point pushes a session holds for the bind that is on its way (see `pointPush`). */
const MAX_BEFORE_BIND = 64;
const NO_EXTRA: AckExtra = { resumeCode: 0, replayed: 0 };

/**
 * Applies cluster.GatewayCommand messages from `gw.<id>.cmd` (kick, push, join, leave) and
 * `gw.<id>.bind` (bind only: a subject of its own, so NATS permissions let only the auth
 * modules publish it), and, when the message has a reply subject, answers cluster.CommandAck
 * after applying it. A bad command is answered ok=false and logged; it never throws.
 */
export class CommandHandler {
  private readonly target: CommandTarget;
  private readonly codecs: CommandCodecs;
  private readonly log: Logger;
  /** Commands applied / refused. */
  applied = 0;
  refused = 0;

  constructor(target: CommandTarget, codecs: CommandCodecs, log: Logger) {
    this.target = target;
    this.codecs = codecs;
    this.log = log;
  }

  /** Handles one NATS message (subscription callback); `subject` says which one it came on. */
  handle(msg: Msg, subject: "cmd" | "bind" = "cmd"): void {
    const cmd = this.decode(msg.data);
    const later = typeof cmd === "string" ? null : this.deferred(cmd, subject, wantsAck(msg));
    if (later !== null) {
      later.then(
        (extra) => this.answer(msg, null, extra),
        (err: unknown) => this.answer(msg, `command failed on ${this.target.id}: ${(err as Error).message}`),
      );
      return;
    }
    let error: string | null;
    try {
      error = typeof cmd === "string" ? cmd : this.applyCommand(cmd, subject);
    } catch (err) {
      error = `command failed on ${this.target.id}: ${(err as Error).message}`;
      this.log.warn({ err }, "gateway command failed");
    }
    this.answer(msg, error);
  }

  /**
   * The commands acknowledged only once an asynchronous step is done: a bind with resume (after
   * the replay) and a kick of away sessions (after their stored pushes reached Redis, so the
   * resume that follows reads them all) and an acknowledged push (pushToUid, pushToUids: once the
   * frame was handed to the socket, or stored for an away session). Null for every other command.
   */
  private deferred(cmd: cluster.GatewayCommand, subject: "cmd" | "bind", acked: boolean): Promise<AckExtra> | null {
    if (subject === "bind" && cmd.bind?.prepare === true) {
      const b = cmd.bind;
      const s = this.target.session(b.sid);
      if (s === undefined || s.closed) return Promise.reject(new Error(this.noSession(b.sid)));
      if (b.uid === "") return Promise.reject(new Error("a bind with prepare needs the uid"));
      return this.target.prepare(s, b.uid).then(() => ({ resumeCode: 0, replayed: 0 }));
    }
    if (subject === "bind" && cmd.bind?.resume === true) {
      const b = cmd.bind;
      const error = this.bind(b);
      if (error !== null) return Promise.reject(new Error(error));
      const s = this.target.session(b.sid)!;
      const seen = b.listsPubs ? b.recentPubs.slice(-MAX_RECENT_PUBS) : null;
      const resumed = this.target.resume(s, b.lastSeq, b.previousLost ? b.previousGateway : null, seen);
      // resume() holds new pushes from its first step: these follow the replayed ones
      this.pushBeforeBind(s);
      return resumed.then((o) => ({ resumeCode: o.code, replayed: o.frames.length }));
    }
    if (subject === "cmd" && cmd.push && cmd.push.sids.length === 1 && acked && cmd.push.uid !== "") return this.pointPush(cmd.push);
    if (subject === "cmd" && cmd.push && acked) return this.pushToMany(cmd.push);
    if (subject === "cmd" && cmd.kick) {
      const k = cmd.kick;
      const targets = k.sid !== 0 ? [this.target.session(k.sid)] : k.uid !== "" ? this.target.sessionsOfUser(k.uid) : [];
      if (k.handover) {
        for (const t of targets) {
          if (t === undefined || t.closed) continue;
          t.handedOver = true;
          if (t.away === null) this.target.handOver(t);
        }
      }
      if (!targets.some((t) => t?.away != null)) return null;
      const error = this.kick(k);
      if (error !== null) return Promise.reject(new Error(error));
      return this.target.resumeWritesDone().then(() => ({ resumeCode: 0, replayed: 0 }));
    }
    return null;
  }

  private answer(msg: Msg, error: string | null, extra?: AckExtra): void {
    if (error === null) this.applied++;
    else this.refused++;
    if (wantsAck(msg)) {
      try {
        msg.respond(this.codecs.ack.encode({ ok: error === null, error: error ?? "", resumeCode: extra?.resumeCode ?? 0, replayed: extra?.replayed ?? 0, startedAt: this.target.startedAt, missingSids: extra?.missingSids ?? [] }));
      } catch (err) {
        this.log.warn({ err }, "cannot answer a gateway command");
      }
    }
  }

  /** Applies an encoded command received on `subject`; returns null on success, else the reason. */
  apply(data: Uint8Array, subject: "cmd" | "bind" = "cmd"): string | null {
    const cmd = this.decode(data);
    return typeof cmd === "string" ? cmd : this.applyCommand(cmd, subject);
  }

  /** The command, or why it is not one. */
  private decode(data: Uint8Array): cluster.GatewayCommand | string {
    try {
      return this.codecs.command.decode(data);
    } catch (err) {
      const reason = `not a cluster.GatewayCommand (${(err as Error).message}): send one of bind, kick, push, join, leave`;
      this.log.warn({ bytes: data.length }, reason);
      return reason;
    }
  }

  private applyCommand(cmd: cluster.GatewayCommand, subject: "cmd" | "bind"): string | null {
    if (subject === "bind") {
      if (!cmd.bind) return `gw.${this.target.id}.bind takes bind commands only`;
      const error = this.bind(cmd.bind);
      if (error === null) this.pushBeforeBind(this.target.session(cmd.bind.sid)!);
      return error;
    }
    if (cmd.ping) return null;
    if (cmd.bind) return `bind goes to gw.${this.target.id}.bind, not gw.${this.target.id}.cmd`;
    if (cmd.kick) return this.kick(cmd.kick);
    if (cmd.push) return this.push(cmd.push);
    if (cmd.join) return this.join(cmd.join);
    if (cmd.leave) return this.leave(cmd.leave);
    const reason = "empty gateway command: set one of bind, kick, push, join, leave, ping";
    this.log.warn(reason);
    return reason;
  }

  private noSession(sid: number): string {
    return `no session ${sid} on ${this.target.id}`;
  }

  private bind(b: cluster.Bind): string | null {
    const s = this.target.session(b.sid);
    if (s === undefined) return this.noSession(b.sid);
    const uid = b.uid === "" ? null : b.uid;
    // A new identity (logout, or a login as someone else on this connection) hears nothing
    // the old one joined: channels go here, pins with the uid (Session.setUid).
    // (a session prepared for this uid's resume keeps the channels it joined for it)
    if (uid !== s.uid && (uid === null || s.prepared !== uid)) this.target.channels.leaveAll(s);
    this.target.bind(s, uid);
    return null;
  }

  private kick(k: cluster.Kick): string | null {
    const reason = k.reason || DEFAULT_KICK_REASON;
    if (k.sid !== 0) {
      const s = this.target.session(k.sid);
      if (s === undefined) return this.noSession(k.sid);
      this.target.kick(s, k.code, reason);
      return null;
    }
    if (k.uid === "") return "kick needs a sid or a uid";
    const list = this.target.sessionsOfUser(k.uid);
    if (list.length === 0) return `no session of uid ${JSON.stringify(k.uid)} on ${this.target.id}`;
    for (const s of list) this.target.kick(s, k.code, reason);
    return null;
  }

  private push(p: cluster.Push): string | null {
    if (p.sids.length === 0) return "push lists no sids";
    const frame = encodeFrame(PacketKind.PUSH, 0, p.route, p.body);
    let missing: Set<number> | null = null;
    for (const sid of p.sids) {
      const s = this.target.session(sid);
      if (s === undefined || s.closed) (missing ??= new Set()).add(sid);
      else s.push(frame);
    }
    if (missing === null) return null;
    return `no session ${[...missing].join(", ")} on ${this.target.id}`;
  }

  /**
   * A push to one uid (pushToUid), acknowledged: once the frame was handed to the socket (the
   * writer flushes at the end of the turn, before this answer), or for an away session once it
   * is stored in Redis. A session not bound yet has a bind on its way (login claims the uid
   * before the gateway applies the bind): the push waits for it instead of going out unnumbered.
   */
  private pointPush(p: cluster.Push): Promise<AckExtra> {
    // one sid (see deferred)
    const s = this.target.session(p.sids[0]!);
    if (s === undefined || s.closed) return Promise.reject(new Error(this.noSession(p.sids[0]!)));
    const frame = encodeFrame(PacketKind.PUSH, 0, p.route, p.body);
    if (s.uid === null && p.uid !== "") {
      const waiting = (s.beforeBind ??= []);
      if (waiting.length >= MAX_BEFORE_BIND) return Promise.reject(new Error(`session ${s.sid} on ${this.target.id} is not bound and holds ${MAX_BEFORE_BIND} pushes already`));
      waiting.push(frame);
      return Promise.resolve(NO_EXTRA);
    }
    s.push(frame);
    if (s.away !== null) return this.target.resumeWritesDone().then(() => NO_EXTRA);
    return new Promise((resolve) => setImmediate(resolve, NO_EXTRA));
  }

  /**
   * A push to several sessions (pushToUids), acknowledged like a point push once every frame was
   * handed to its socket or stored for an away session; the ack lists the sids not held here.
   */
  private pushToMany(p: cluster.Push): Promise<AckExtra> {
    const frame = encodeFrame(PacketKind.PUSH, 0, p.route, p.body);
    const missingSids: number[] = [];
    let stored = false;
    for (const sid of p.sids) {
      const s = this.target.session(sid);
      if (s === undefined || s.closed) {
        missingSids.push(sid);
        continue;
      }
      s.push(frame);
      stored ||= s.away !== null;
    }
    const extra = { ...NO_EXTRA, missingSids };
    if (stored) return this.target.resumeWritesDone().then(() => extra);
    return new Promise((resolve) => setImmediate(resolve, extra));
  }

  /** Pushes what arrived for `s` before its bind (see `pointPush`). */
  private pushBeforeBind(s: Session): void {
    const waiting = s.beforeBind;
    if (waiting === null) return;
    s.beforeBind = null;
    if (s.uid === null) return;
    for (const frame of waiting) s.push(frame);
  }

  private join(j: cluster.JoinChannel): string | null {
    const s = this.target.session(j.sid);
    if (s === undefined || s.closed) return this.noSession(j.sid);
    return this.target.channels.join(s, j.channel);
  }

  private leave(l: cluster.LeaveChannel): string | null {
    const s = this.target.session(l.sid);
    if (s === undefined) return this.noSession(l.sid);
    this.target.channels.leave(s, l.channel);
    return null;
  }
}
