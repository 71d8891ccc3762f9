import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";

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
  channels: string[];
  pins: [string, string][];
}

const OK = 0;
const RESYNC = 11;

// One hash tag per uid: the meta hash and the stream of a uid live in one slot.
const metaKey = (uid: string): string => `sy:resume:{${uid}}:m`;
const streamKey = (uid: string): string => `sy:resume:{${uid}}:s`;

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

  /** The away session ended without a resume: whatever resumes later must resync. */
  abandon(uid: string): void {
    const tx = this.redis.multi().hset(metaKey(uid), "overflow", 1);
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

  /** Takes (and deletes: replayed once) what is kept for `uid` after `lastSeq`. */
  async take(uid: string, lastSeq: number): Promise<ResumeOutcome> {
    const res = (await this.redis.multi().hgetall(metaKey(uid)).xrange(streamKey(uid), "-", "+").del(metaKey(uid), streamKey(uid)).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, [string, string[]][]],
      [Error | null, number],
    ];
    const meta = res[0][1];
    if (meta.seq === undefined) return { code: RESYNC, frames: [], ids: new Set(), seq: lastSeq, channels: [], pins: [] };
    const seq = Number(meta.seq);
    const channels = JSON.parse(meta.channels ?? "[]") as string[];
    const pins = JSON.parse(meta.pins ?? "[]") as [string, string][];
    const entries = res[1][1].map(([, fields]) => ({ seq: Number(fields[1]), frame: Buffer.from(fields[3]!, "base64"), id: fields[5] ?? "" }));
    const missed = entries.filter((e) => e.seq > lastSeq);
    const complete = meta.overflow !== "1" && lastSeq <= seq && missed.length === seq - lastSeq && (missed.length === 0 || missed[0]!.seq === lastSeq + 1);
    // ids of every kept push: a held one already delivered before lastSeq is a duplicate too
    const ids = new Set(entries.filter((e) => e.id !== "").map((e) => e.id));
    if (!complete) return { code: RESYNC, frames: [], ids, seq: Math.max(seq, lastSeq), channels, pins };
    return { code: OK, frames: missed.map((e) => e.frame), ids, seq, channels, pins };
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
