import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { cluster } from "../generated/proto.js";
import type { MessageCodec } from "../proto/registry.js";
import { MAX_RECENT_PUBS, decodePacket, encodeChannelPush, restampSeq, stampSeq } from "../protocol/packet.js";
import { ChannelLogReader, LOG_CUT_MARGIN_MS, type ChannelLogRead } from "../redis/channel-log.js";

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
  /** With adoptedFrom: when the dead gateway was last seen alive, less a margin (unix ms; 0: not known). */
  cutMs?: number;
  channels: string[];
  pins: [string, string][];
}

const OK = 0;
const RESYNC = 11;

// One hash tag per uid: the meta hash and the stream of a uid live in one slot.
const metaKey = (uid: string): string => `sy:resume:{${uid}}:m`;
const streamKey = (uid: string): string => `sy:resume:{${uid}}:s`;
// The channels and pins of a connected session of the uid that has any (a hash of two JSON
// lists), rewritten when they change: a resume after its gateway's death restores them.
const tiedKey = (uid: string): string => `sy:resume:{${uid}}:t`;
/** A connected session's membership outlives a dead gateway by this much when nobody adopts it. */
const TIED_TTL_MS = 7 * 24 * 3600_000;

/** Channels and pins of a session. */
export interface Membership {
  channels: string[];
  /** module → instance. */
  pins: [string, string][];
}

/** What a gateway finds in Redis of a uid whose gateway died (see ResumeStore.peek). */
export interface LostSession {
  /** The away session's snapshot when the uid was away at the death; null when it was connected. */
  away: (AwaySnapshot & { at: number; overflow: boolean; kept: number; pubs: Set<string> }) | null;
  /** The channels and pins of the uid's connected session (null: it had none, or it was away). */
  connected: Membership | null;
}

/** A channel publication from the channel log, for a session that was a member when its gateway died. */
export interface LoggedPush {
  /** Unstamped PUSH frame (with its publication id, wire.Packet.pub). */
  frame: Buffer;
  id: string;
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

/** The publication ids a resuming client lists (login.ResumeRequest.recent_pubs), or null when it lists none. */
export type SeenPubs = readonly string[] | null;

/**
 * A channel publication logged after a moment may or may not have reached the client before its
 * gateway died. Given every such candidate, returns the ones the client does not have, or null
 * when that cannot be told: the client lists no ids, or its list is full and reaches back no
 * further than the candidates (older ones it received may have fallen out of it).
 */
export function unseenBy<T extends { id: string }>(candidates: readonly T[], seen: SeenPubs): T[] | null {
  if (candidates.length === 0) return [];
  if (seen === null) return null;
  const listed = new Set(seen);
  if (seen.length >= MAX_RECENT_PUBS && candidates.some((c) => c.id === seen[0])) return null;
  return candidates.filter((c) => !listed.has(c.id));
}

/**
 * Pushes of away uids in Redis, where every gateway can read them and where they outlive the
 * gateway that held the session: per uid a stream of the PUSH frames (field f, with their seq
 * in field s) and a hash with the highest seq, the overflow flag, channels and pins. Written
 * only while a uid is away (the hot path of a connected session never touches Redis), each key
 * expiring with the window; a connected session's channels and pins are written when they
 * change (tiedKey). One Redis connection: the writes of one uid reach Redis in order.
 */
export class ResumeStore {
  private readonly channelLog: ChannelLogReader;

  constructor(
    private readonly redis: Redis,
    readonly limits: ResumeLimits,
    private readonly channelMessage: MessageCodec<cluster.ChannelMessage>,
    private readonly log: Logger,
  ) {
    this.channelLog = new ChannelLogReader(redis, limits.maxPushes);
  }

  /** The session of `uid` dropped: stores its snapshot and the recent pushes it may have lost. */
  detach(uid: string, snap: AwaySnapshot, recent: readonly Buffer[], recentSeqs: readonly number[], now: number): AwayState {
    const away: AwayState = { until: now + this.limits.windowMs, kept: 0, bytes: 0, overflow: false };
    const tx = this.redis.multi().del(streamKey(uid), metaKey(uid), tiedKey(uid));
    tx.hset(metaKey(uid), { seq: snap.seq, overflow: 0, at: now, channels: JSON.stringify(snap.channels), pins: JSON.stringify(snap.pins) });
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

  /** The channels or pins of `uid`'s session changed (`away`: while it waits for its resume; its overflow flag is stored too). */
  keepMembership(uid: string, m: Membership, away: AwayState | null): void {
    const fields = { channels: JSON.stringify(m.channels), pins: JSON.stringify(m.pins) };
    if (away === null) {
      this.redis
        .multi()
        .hset(tiedKey(uid), fields)
        .pexpire(tiedKey(uid), TIED_TTL_MS)
        .exec()
        .catch((err: Error) => this.log.warn({ err: err.message, uid }, "cannot keep a session's channels and pins in Redis: a resume after its gateway's death will not restore them"));
      return;
    }
    const tx = this.redis.multi().hset(metaKey(uid), away.overflow ? { ...fields, overflow: 1 } : fields);
    this.expire(tx, uid, Math.max(1, away.until - Date.now()));
    this.run(tx, uid);
  }

  /** What Redis holds of `uid`, whose gateway died: its away snapshot (if it was away) or its connected session's channels and pins. */
  async peek(uid: string): Promise<LostSession> {
    const res = (await this.redis.multi().hgetall(metaKey(uid)).xrange(streamKey(uid), "-", "+").hgetall(tiedKey(uid)).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, [string, string[]][]],
      [Error | null, Record<string, string>],
    ];
    const meta = res[0][1];
    if (meta.seq === undefined) return { away: null, connected: membershipOf(res[2][1]) };
    const entries = res[1][1].map(([, fields]) => entryOf(fields));
    return {
      away: {
        seq: Number(meta.seq),
        ...(membershipOf(meta) ?? { channels: [], pins: [] }),
        at: Number(meta.at ?? 0),
        overflow: meta.overflow === "1",
        kept: entries.length,
        pubs: new Set(entries.map((e) => e.id).filter((id) => id !== "")),
      },
      connected: null,
    };
  }

  /**
   * The publications of `channels` logged since `sinceMs` that `uid` is meant to get (not
   * excluded) and that are not among `have`, oldest first; null when a log may have lost some.
   * `read`: a shared reader (several sessions adopted at once read each channel once).
   */
  async logged(uid: string, channels: readonly string[], sinceMs: number, have: ReadonlySet<string>, read?: (channel: string) => Promise<ChannelLogRead>): Promise<LoggedPush[] | null> {
    if (channels.length === 0) return [];
    const log = await this.channelLog.sinceAll(channels, sinceMs, read);
    if (!log.complete) return null;
    const out: LoggedPush[] = [];
    for (const e of log.entries) {
      const m = this.channelMessage.decode(e.message);
      if (have.has(m.id) || m.excludeUids.includes(uid)) continue;
      out.push({ frame: encodeChannelPush(m.route, m.body, m.id), id: m.id });
    }
    return out;
  }

  /** Reads one channel's log since `sinceMs` (see {@link ResumeStore.logged}'s `read`). */
  readChannel(channel: string, sinceMs: number): Promise<ChannelLogRead> {
    return this.channelLog.since(channel, sinceMs);
  }

  /**
   * Takes over `uid` for an adopted session (its gateway died). An away snapshot found stays and
   * the session continues its sequence; a uid that was connected gets a snapshot numbered from 0,
   * renumbered at the resume after the client's last seq (what the dead gateway sent it is known
   * only to the client). `logged`: the channel publications since about the death, stored first
   * as candidates (the resume drops those the client lists). `incomplete`: something is known
   * lost (a channel log trimmed, pending pushes over the bound), so the resume must answer RESYNC.
   * `cutMs`: when the dead gateway was last seen alive, less a margin (0: not known).
   * Returns the away state and the seq the session continues from.
   */
  adopt(uid: string, found: LostSession, m: Membership, logged: readonly LoggedPush[] | null, incomplete: boolean, now: number, fromGateway: string, cutMs: number): { away: AwayState; seq: number } {
    const lost = incomplete || logged === null || (found.away?.overflow ?? false);
    const away: AwayState = { until: now + this.limits.windowMs, kept: found.away?.kept ?? 0, bytes: 0, overflow: lost };
    const tx = this.redis.multi();
    const fields = { from: fromGateway, cut: cutMs, channels: JSON.stringify(m.channels), pins: JSON.stringify(m.pins), ...(lost ? { overflow: 1 } : {}) };
    let seq = found.away?.seq ?? 0;
    if (found.away === null) {
      tx.del(streamKey(uid), metaKey(uid));
      tx.hset(metaKey(uid), { seq: 0, rebase: 1, overflow: 0, ...fields });
    } else {
      tx.hset(metaKey(uid), fields);
    }
    for (const l of logged ?? []) this.append(tx, uid, away, ++seq, stampSeq(l.frame, seq), l.id, true);
    tx.hset(metaKey(uid), "seq", seq);
    tx.del(tiedKey(uid));
    this.expire(tx, uid);
    this.run(tx, uid);
    return { away, seq };
  }

  /** The session of `uid` that kept its channels and pins in Redis ended cleanly. */
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
   * previous gateway is dead (nobody adopted the session yet) and these point pushes were kept
   * for it meanwhile; they follow the stored ones and what its channels' logs hold since about
   * the death. A uid adopted or lost while connected continues after the client's `lastSeq`.
   * `seen`: the channel publications the client lists; candidates among them are not replayed.
   */
  async take(uid: string, lastSeq: number, lost: PendingFrames | null = null, seen: SeenPubs = null): Promise<ResumeOutcome> {
    const res = (await this.redis.multi().hgetall(metaKey(uid)).xrange(streamKey(uid), "-", "+").hgetall(tiedKey(uid)).del(metaKey(uid), streamKey(uid), tiedKey(uid)).exec()) as [
      [Error | null, Record<string, string>],
      [Error | null, [string, string[]][]],
      [Error | null, Record<string, string>],
      [Error | null, number],
    ];
    const meta = res[0][1];
    const now = Date.now();
    if (meta.seq === undefined) {
      // Nothing stored: the uid was connected when its gateway died (or nothing is left).
      const m = membershipOf(res[2][1]) ?? { channels: [], pins: [] };
      if (lost === null || lost.overflow) return resync(lastSeq, m, new Set());
      // Not adopted yet, so the moment of the death is not known: the whole window is read.
      const logged = await this.logged(uid, m.channels, now - this.limits.windowMs, new Set());
      const ids = new Set((logged ?? []).map((l) => l.id));
      const fresh = logged === null ? null : unseenBy(logged, seen);
      if (fresh === null) return resync(lastSeq, m, ids);
      const frames = [...fresh.map((l) => l.frame), ...lost.frames].map((f, i) => stampSeq(f, lastSeq + 1 + i));
      return { code: OK, frames, ids, seq: lastSeq + frames.length, ...m };
    }
    let seq = Number(meta.seq);
    // what the session continues from if this is a RESYNC: past every seq assigned
    let highest = meta.rebase === "1" ? lastSeq + seq : seq;
    const m = membershipOf(meta) ?? { channels: [], pins: [] };
    const stored = res[1][1].map(([, fields]) => entryOf(fields));
    // ids of every kept push: a held one already delivered before lastSeq is a duplicate too
    const ids = new Set(stored.map((e) => e.id).filter((id) => id !== ""));
    let complete = meta.overflow !== "1";
    // channel publications from the logs, which the client may already have
    const unseen = unseenBy(
      stored.filter((e) => e.candidate),
      seen,
    );
    if (unseen === null) complete = false;
    const toReplay = new Set(unseen);
    const dropped = new Set(stored.filter((e) => e.candidate && !toReplay.has(e)));
    let frames: Buffer[];
    if (meta.rebase === "1") {
      // Adopted while connected: kept pushes are numbered 1..seq, renumbered after lastSeq.
      complete &&= stored.length === seq && stored.every((e, i) => e.seq === i + 1);
      const kept = stored.filter((e) => !dropped.has(e));
      frames = kept.map((e, i) => restampSeq(e.frame, e.seq, lastSeq + 1 + i));
      seq = lastSeq + kept.length;
    } else {
      const missed = stored.filter((e) => e.seq > lastSeq);
      complete &&= lastSeq <= seq && missed.length === seq - lastSeq && (missed.length === 0 || missed[0]!.seq === lastSeq + 1);
      // a candidate the client has leaves a hole in the stored seqs: the ones after it move down
      const kept = missed.filter((e) => !dropped.has(e));
      frames = kept.map((e, i) => (e.seq === lastSeq + 1 + i ? e.frame : restampSeq(e.frame, e.seq, lastSeq + 1 + i)));
      seq = lastSeq + kept.length;
    }
    if (lost !== null) {
      // The channels' publications since the session went away (or since the window began) that
      // the dead gateway did not store, then the point pushes kept for it.
      const at = Number(meta.at ?? 0);
      const since = at > 0 ? at - LOG_CUT_MARGIN_MS : now - this.limits.windowMs;
      const logged = await this.logged(uid, m.channels, since, ids);
      for (const l of logged ?? []) ids.add(l.id);
      const fresh = logged === null ? null : unseenBy(logged, seen);
      complete &&= fresh !== null && !lost.overflow;
      for (const l of fresh ?? []) frames.push(stampSeq(l.frame, ++seq));
      for (const f of lost.frames) frames.push(stampSeq(f, ++seq));
      highest += (fresh?.length ?? 0) + lost.frames.length;
    }
    const adoptedFrom = meta.from ?? "";
    const cutMs = Number(meta.cut ?? 0);
    if (!complete) return { ...resync(Math.max(highest, lastSeq), m, ids), adoptedFrom, cutMs };
    return { code: OK, frames, ids, seq, ...m, adoptedFrom, cutMs };
  }

  private append(tx: ReturnType<Redis["multi"]>, uid: string, away: AwayState, seq: number, frame: Buffer, pushId = "", candidate = false): void {
    if (away.overflow) return;
    if (away.kept + 1 > this.limits.maxPushes || away.bytes + frame.length > this.limits.maxBytes) {
      away.overflow = true;
      tx.hset(metaKey(uid), "overflow", 1);
      return;
    }
    away.kept++;
    away.bytes += frame.length;
    const fields: (string | number)[] = ["s", seq, "f", frame.toString("base64")];
    if (pushId !== "") fields.push("i", pushId);
    if (candidate) fields.push("c", 1);
    tx.xadd(streamKey(uid), "*", ...fields);
  }

  private expire(tx: ReturnType<Redis["multi"]>, uid: string, ms = this.limits.windowMs): void {
    tx.pexpire(metaKey(uid), ms).pexpire(streamKey(uid), ms);
  }

  private run(tx: ReturnType<Redis["multi"]>, uid: string): void {
    tx.exec().catch((err: Error) => this.log.warn({ err: err.message, uid }, "cannot keep pushes of an away session: its resume will ask for a resync"));
  }
}

function resync(seq: number, m: Membership, ids: Set<string>): ResumeOutcome {
  return { code: RESYNC, frames: [], ids, seq, channels: m.channels, pins: m.pins };
}

function membershipOf(h: Record<string, string>): Membership | null {
  if (h.channels === undefined && h.pins === undefined) return null;
  return { channels: JSON.parse(h.channels ?? "[]") as string[], pins: JSON.parse(h.pins ?? "[]") as [string, string][] };
}

/** A stored push: its seq, stamped frame, publication id ("" for a point push) and whether it came from a channel log. */
interface StoredPush {
  seq: number;
  frame: Buffer;
  id: string;
  candidate: boolean;
}

function entryOf(fields: string[]): StoredPush {
  const e: StoredPush = { seq: 0, frame: EMPTY_FRAME, id: "", candidate: false };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const v = fields[i + 1]!;
    if (fields[i] === "s") e.seq = Number(v);
    else if (fields[i] === "f") e.frame = Buffer.from(v, "base64");
    else if (fields[i] === "i") e.id = v;
    else if (fields[i] === "c") e.candidate = true;
  }
  // the recent pushes stored at the drop carry no id field: a channel frame names its publication itself
  if (e.id === "" && e.frame.length > 4) e.id = decodePacket(e.frame.subarray(4))?.pub ?? "";
  return e;
}

const EMPTY_FRAME = Buffer.alloc(0);
