import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import { restampSeq, stampSeq } from "../protocol/packet.js";

/** How long and how much is kept for a uid whose connection dropped (gateway.resume settings). */
export interface ResumeLimits {
  /** How long an away session is kept (its pushes stored, its channels held); 0 disables resume. */
  windowMs: number;
  /** Most pushes kept per away uid (the recent ones sent before the drop included). */
  maxPushes: number;
  /** Most bytes of pushes kept per away uid. */
  maxBytes: number;
  /** Pushes a live session remembers, to replay the ones lost in the socket when it dropped. */
  recentPushes: number;
}

/** What an away session left for whoever resumes it. */
export interface AwaySnapshot {
  /** Highest seq assigned to the uid. */
  seq: number;
  channels: string[];
  /** module → instance. */
  pins: [string, string][];
}

/** What a resume gets: the frames to replay (in order) and the code for the reply. */
export interface ResumeOutcome {
  /** wire.ErrorCode: OK (0) gap-free, RESYNC (11) some pushes after lastSeq are not kept. */
  code: number;
  frames: Buffer[];
  /** Publication ids of the replayed channel pushes (see push-overlap.ts). */
  ids: Set<string>;
  /** The seq the resumed session continues from. */
  seq: number;
  /** The dead gateway the kept session was adopted from ("" when none). */
  adoptedFrom?: string;
  channels: string[];
  pins: [string, string][];
}

const OK = 0;
const RESYNC = 11;

// One hash tag per uid: the meta hash and the stream of a uid live in one slot.
const metaKey = (uid: string): string => `sy:resume:{${uid}}:m`;
const streamKey = (uid: string): string => `sy:resume:{${uid}}:s`;
// Set while a connected session of the uid is in a channel or pinned (state that dies with its
// gateway): a resume after that gateway's death must then answer RESYNC.
const tiedKey = (uid: string): string => `sy:resume:{${uid}}:t`;

/** What a gateway finds in Redis of a uid whose gateway died (see ResumeStore.peek). */
export interface LostSession {
  /** The away session's snapshot when the uid was away at the death; null when it was connected. */
  away: (AwaySnapshot & { overflow: boolean; kept: number }) | null;
  /** A connected session of the uid had channels or pins (they died with its gateway). */
  tied: boolean;
}

/** Point pushes kept for a uid whose gateway was gone (sy:{online}:pending), as unstamped PUSH frames. */
export interface PendingFrames {
  frames: Buffer[];
  /** Some were not kept (over gateway.resume.maxPushes). */
  overflow: boolean;
}

/** Per away uid, what the gateway tracks locally to enforce the bounds without asking Redis. */
export interface AwayState {
  until: number;
  kept: number;
  bytes: number;
  overflow: boolean;
}

/**
 * Pushes of away uids in Redis, where every gateway can read them and where they outlive the
 * gateway that held the session: per uid a stream of the PUSH frames (field f, with their seq
 * in field s) and a hash with the highest seq, the overflow flag, channels and pins. Written
 * only while a uid is away (the hot path of a connected session never touches Redis), each key
 * expiring with the window. One Redis connection: the writes of one uid reach Redis in order.
 */
export class ResumeStore {
  constructor(
    private readonly redis: Redis,
    readonly limits: ResumeLimits,
    private readonly log: Logger,
  ) {}

  /** The session of `uid` dropped: stores its snapshot and the recent pushes it may have lost. */
  detach(uid: string, snap: AwaySnapshot, recent: readonly Buffer[], recentSeqs: readonly number[], now: number): AwayState {
    const away: AwayState = { until: now + this.limits.windowMs, kept: 0, bytes: 0, overflow: false };
    const tx = this.redis.multi().del(streamKey(uid), metaKey(uid));
    tx.hset(metaKey(uid), { seq: snap.seq, overflow: 0, channels: JSON.stringify(snap.channels), pins: JSON.stringify(snap.pins) });
    recent.forEach((frame, i) => this.append(tx, uid, away, recentSeqs[i]!, frame));
    this.expire(tx, uid);
    this.run(tx, uid);
    return away;
  }

  /** One more push for an away uid: kept while within the bounds, else the uid must resync. */
  keep(uid: string, away: AwayState, seq: number, frame: Buffer, pushId = ""): void {
    const tx = this.redis.multi();
    this.append(tx, uid, away, seq, frame, pushId);
    tx.hset(metaKey(uid), "seq", seq);
    // Writing to an expired key would create one with no TTL: the keys never outlive the window.
    this.expire(tx, uid, Math.max(1, away.until - Date.now()));
    this.run(tx, uid);
  }

  /** What Redis holds of `uid`, whose gateway died: its away snapshot (if it was away) and its tie mark. */
  async peek(uid: string): Promise<LostSession> {
    const res = (await this.redis.multi().hgetall(metaKey(uid)).xlen(streamKey(uid)).exists(tiedKey(uid)).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, number],
      [Error | null, number],
    ];
    const meta = res[0][1];
    const tied = res[2][1] === 1;
    if (meta.seq === undefined) return { away: null, tied };
    return {
      away: {
        seq: Number(meta.seq),
        channels: JSON.parse(meta.channels ?? "[]") as string[],
        pins: JSON.parse(meta.pins ?? "[]") as [string, string][],
        overflow: meta.overflow === "1",
        kept: res[1][1],
      },
      tied,
    };
  }

  /**
   * Takes over `uid` for an adopted session (its gateway died): the away snapshot found stays and
   * the session continues its sequence; a uid that was connected gets a snapshot numbered from 0,
   * renumbered at the resume after the client's last seq (what the dead gateway sent it is known
   * only to the client). `incomplete`: something is known lost (channel pushes of the death
   * window, pending pushes over the bound), so the resume must answer RESYNC.
   */
  adopt(uid: string, found: LostSession, incomplete: boolean, now: number, fromGateway: string): AwayState {
    const away: AwayState = { until: now + this.limits.windowMs, kept: found.away?.kept ?? 0, bytes: 0, overflow: incomplete || (found.away?.overflow ?? false) };
    const tx = this.redis.multi();
    if (found.away === null) {
      tx.del(streamKey(uid), metaKey(uid));
      tx.hset(metaKey(uid), { seq: 0, rebase: 1, overflow: away.overflow ? 1 : 0, channels: "[]", pins: "[]", from: fromGateway });
    } else {
      tx.hset(metaKey(uid), { from: fromGateway, ...(away.overflow ? { overflow: 1 } : {}) });
    }
    tx.del(tiedKey(uid));
    this.expire(tx, uid);
    this.run(tx, uid);
    return away;
  }

  /** A connected session of `uid` joined a channel or was pinned (see tiedKey). */
  markTied(uid: string): void {
    this.redis.set(tiedKey(uid), 1).catch((err: Error) => this.log.warn({ err: err.message, uid }, "cannot mark a session's channels in Redis"));
  }

  /** The session of `uid` that was tied ended cleanly. */
  untie(uid: string): void {
    this.redis.del(tiedKey(uid)).catch(() => undefined);
  }

  /** The away session ended without a resume: whatever resumes later must resync. */
  abandon(uid: string): void {
    const tx = this.redis.multi().hset(metaKey(uid), "overflow", 1).del(tiedKey(uid));
    this.expire(tx, uid);
    this.run(tx, uid);
  }

  /** Resolves once every write issued so far reached Redis (the order of one connection). */
  async flushed(): Promise<void> {
    await this.redis.ping();
  }

  /** Closes the Redis connection after what was issued. */
  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * The channels the away session of `uid` is a member of (as stored when it went away), or
   * [] when none is kept; nothing is taken.
   */
  async channelsOf(uid: string): Promise<string[]> {
    const json = await this.redis.hget(metaKey(uid), "channels");
    return json === null ? [] : (JSON.parse(json) as string[]);
  }

  /**
   * Takes (and deletes: replayed once) what is kept for `uid` after `lastSeq`. `lost`: the uid's
   * previous gateway is dead and these point pushes were kept for it meanwhile; they follow the
   * stored ones. A uid adopted or lost while connected continues after the client's `lastSeq`.
   */
  async take(uid: string, lastSeq: number, lost: PendingFrames | null = null): Promise<ResumeOutcome> {
    const res = (await this.redis.multi().hgetall(metaKey(uid)).xrange(streamKey(uid), "-", "+").exists(tiedKey(uid)).del(metaKey(uid), streamKey(uid), tiedKey(uid)).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, [string, string[]][]],
      [Error | null, number],
      [Error | null, number],
    ];
    const meta = res[0][1];
    if (meta.seq === undefined) {
      // Nothing stored: the uid was connected when its gateway died (or nothing is left).
      if (lost === null || res[2][1] === 1 || lost.overflow) return { code: RESYNC, frames: [], ids: new Set(), seq: lastSeq, channels: [], pins: [] };
      const frames = lost.frames.map((f, i) => stampSeq(f, lastSeq + 1 + i));
      return { code: OK, frames, ids: new Set(), seq: lastSeq + frames.length, channels: [], pins: [] };
    }
    let seq = Number(meta.seq);
    const channels = JSON.parse(meta.channels ?? "[]") as string[];
    const pins = JSON.parse(meta.pins ?? "[]") as [string, string][];
    const entries = res[1][1].map(([, fields]) => ({ seq: Number(fields[1]), frame: Buffer.from(fields[3]!, "base64"), id: fields[5] ?? "" }));
    let complete: boolean;
    let frames: Buffer[];
    if (meta.rebase === "1") {
      // Adopted while connected: kept pushes are numbered 1..seq, renumbered after lastSeq.
      complete = meta.overflow !== "1" && entries.length === seq && entries.every((e, i) => e.seq === i + 1);
      frames = entries.map((e) => restampSeq(e.frame, e.seq, lastSeq + e.seq));
      seq += lastSeq;
    } else {
      const missed = entries.filter((e) => e.seq > lastSeq);
      complete = meta.overflow !== "1" && lastSeq <= seq && missed.length === seq - lastSeq && (missed.length === 0 || missed[0]!.seq === lastSeq + 1);
      frames = missed.map((e) => e.frame);
    }
    if (lost !== null) {
      // The channels' pushes since the death went to a gateway nobody runs.
      complete &&= !lost.overflow && channels.length === 0;
      for (const f of lost.frames) frames.push(stampSeq(f, ++seq));
    }
    // ids of every kept push: a held one already delivered before lastSeq is a duplicate too
    const ids = new Set(entries.filter((e) => e.id !== "").map((e) => e.id));
    const adoptedFrom = meta.from ?? "";
    if (!complete) return { code: RESYNC, frames: [], ids, seq: Math.max(seq, lastSeq), channels, pins, adoptedFrom };
    return { code: OK, frames, ids, seq, channels, pins, adoptedFrom };
  }

  private append(tx: ReturnType<Redis["multi"]>, uid: string, away: AwayState, seq: number, frame: Buffer, pushId = ""): void {
    if (away.overflow) return;
    if (away.kept + 1 > this.limits.maxPushes || away.bytes + frame.length > this.limits.maxBytes) {
      away.overflow = true;
      tx.hset(metaKey(uid), "overflow", 1);
      return;
    }
    away.kept++;
    away.bytes += frame.length;
    if (pushId === "") tx.xadd(streamKey(uid), "*", "s", seq, "f", frame.toString("base64"));
    else tx.xadd(streamKey(uid), "*", "s", seq, "f", frame.toString("base64"), "i", pushId);
  }

  private expire(tx: ReturnType<Redis["multi"]>, uid: string, ms = this.limits.windowMs): void {
    tx.pexpire(metaKey(uid), ms).pexpire(streamKey(uid), ms);
  }

  private run(tx: ReturnType<Redis["multi"]>, uid: string): void {
    tx.exec().catch((err: Error) => this.log.warn({ err: err.message, uid }, "cannot keep pushes of an away session: its resume will ask for a resync"));
  }
}
