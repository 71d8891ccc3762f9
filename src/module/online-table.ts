import type { Redis } from "ioredis";
import { defineRedisCommand } from "./redis-command.js";

/** Where a user's session lives: gateway id and session id. */
export interface OnlineEntry {
  gatewayId: string;
  sid: number;
}

/** A session listed under its gateway: uid, and when it was claimed (unix ms). */
export interface GatewaySession extends OnlineEntry {
  uid: string;
  claimedAt: number;
}

// Every key of the table shares the hash tag {online}: the claim script must reach the previous
// gateway's index, which it only learns inside the script, so the table lives in one slot (one
// Redis Cluster node). It is small (one short string per online user).
const KEY_PREFIX = "sy:{online}:uid:";
/** Per gateway, a sorted set uid → claim time: what to clean when that gateway dies. */
const GATEWAY_PREFIX = "sy:{online}:gw:";
/** Set of the gateway ids that have (or had) sessions in the table. */
const GATEWAYS_KEY = "sy:{online}:gateways";
/** The sweeper's lease: the id of the one instance that checks the gateways. */
const SWEEPER_KEY = "sy:{online}:sweeper";
/** Per gone gateway, set when pushes to its sessions (by session, not by uid) were lost. */
const LOST_PREFIX = "sy:{online}:lost:";
/**
 * Per gateway, a hash instance id → the start of the last second (unix ms, a multiple of
 * PUSH_BUCKET_MS) in which that instance pushed by session to it (see notePushedBySession).
 */
const PUSHED_PREFIX = "sy:{online}:pushed:";
/** The granularity of the pushed-by-session record: one write per instance and gateway at most this often. */
export const PUSH_BUCKET_MS = 1_000;
/** Per dead gateway, the id of the gateway that adopts its sessions (SET NX). */
const ADOPT_PREFIX = "sy:{online}:adopt:";
/**
 * Per uid, the point pushes whose gateway gave no responders (base64 cluster.PendingPush, oldest
 * first; an empty item marks an overflow: some were not kept).
 */
const PENDING_PREFIX = "sy:{online}:pending:";

// Claims the uid and moves its index entry from the previous session's gateway to the new one
// (that key is built here from the previous entry: same hash tag, same slot).
// KEYS uid entry, new gateway's index, gateway set; ARGV entry, now ms, gateway id, uid.
const CLAIM = defineRedisCommand<[entryKey: string, gatewayIndex: string, gateways: string], [entry: string, nowMs: number, gatewayId: string, uid: string], string | null>({
  name: "syOnlineClaim",
  numberOfKeys: 3,
  lua: `
local prev = redis.call('SET', KEYS[1], ARGV[1], 'GET')
if prev then
  local slash = string.find(prev, '/[^/]*$')
  if slash then
    local prevGw = string.sub(prev, 1, slash - 1)
    if prevGw ~= ARGV[3] then redis.call('ZREM', '${GATEWAY_PREFIX}' .. prevGw, ARGV[4]) end
  end
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
return prev`,
});

// Deletes the entry only if it still names the given session, so a late "session closed" of
// an old session never removes the entry of the newer one.
const RELEASE_IF_OWNER = defineRedisCommand<[entryKey: string, gatewayIndex: string], [entry: string, uid: string], number>({
  name: "syOnlineReleaseIfOwner",
  numberOfKeys: 2,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return redis.call('DEL', KEYS[1])
end
return 0`,
});

// One step, so a claim on that gateway cannot slip in between the count and the removal.
const FORGET_IF_EMPTY = defineRedisCommand<[gatewayIndex: string, gateways: string], [gatewayId: string], number>({
  name: "syOnlineForgetIfEmpty",
  numberOfKeys: 2,
  lua: `
if redis.call('ZCARD', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end
return 0`,
});

// Takes the lease when free, renews it when held by ARGV[1]; 1 when held by ARGV[1] afterwards.
const LEASE = defineRedisCommand<[lease: string], [owner: string, ttlMs: number], number>({
  name: "syOnlineSweeperLease",
  numberOfKeys: 1,
  lua: `
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`,
});

// Appends a pending push only while the uid's entry still names the session it was meant for:
// checked in the same step as the adoption's move, so a push is either taken by the adoption or
// sent again to where the uid moved. 1 kept, 0 over the bound (marked), -1 the entry changed.
// KEYS entry, pending list; ARGV expected entry, item, max items, ttl ms.
const APPEND_PENDING = defineRedisCommand<[entryKey: string, pending: string], [entry: string, item: string, max: number, ttlMs: number], number>({
  name: "syOnlineAppendPending",
  numberOfKeys: 2,
  lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = redis.call('LLEN', KEYS[2])
local kept = 1
if n >= tonumber(ARGV[3]) then
  kept = 0
  if redis.call('LINDEX', KEYS[2], -1) ~= '' then redis.call('RPUSH', KEYS[2], '') end
else
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return kept`,
});

// The adoption of one session: when the uid's entry still names the dead session, points it at
// the adopter's new session (index moved too) and takes the uid's pending pushes, in one step.
// KEYS entry, dead gateway's index, adopter's index, gateway set, pending list;
// ARGV dead entry, new entry, now ms, adopter id, uid. Returns false when the uid moved on, else
// the pending items (possibly none).
const ADOPT_SESSION = defineRedisCommand<
  [entryKey: string, deadIndex: string, adopterIndex: string, gateways: string, pending: string],
  [deadEntry: string, newEntry: string, nowMs: number, adopterId: string, uid: string],
  string[] | null
>({
  name: "syOnlineAdoptSession",
  numberOfKeys: 5,
  lua: `
redis.call('ZREM', KEYS[2], ARGV[5])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
redis.call('SADD', KEYS[4], ARGV[4])
local items = redis.call('LRANGE', KEYS[5], 0, -1)
redis.call('DEL', KEYS[5])
return items`,
});

// Takes (reads and deletes) a uid's pending pushes.
const TAKE_PENDING = defineRedisCommand<[pending: string], [], string[]>({
  name: "syOnlineTakePending",
  numberOfKeys: 1,
  lua: `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return items`,
});

/** What a uid's pending list held: the pushes (base64 cluster.PendingPush) and whether some were not kept. */
export interface PendingPushes {
  items: string[];
  overflow: boolean;
}

function pendingOf(items: readonly string[]): PendingPushes {
  const kept = items.filter((i) => i !== "");
  return { items: kept, overflow: kept.length !== items.length };
}

function encode(e: OnlineEntry): string {
  return `${e.gatewayId}/${e.sid}`;
}

/** "<gatewayId>/<sid>" (an online entry, sys.session.closed's successor) as a session, or null. */
export function parseGatewaySession(v: string | null): OnlineEntry | null {
  if (v === null) return null;
  const slash = v.lastIndexOf("/");
  if (slash <= 0) return null;
  return { gatewayId: v.slice(0, slash), sid: Number(v.slice(slash + 1)) };
}

/**
 * The cluster-wide online table in Redis: uid → the one session bound to it. Claiming is a
 * single atomic script (SET … GET plus the per-gateway index), so of two racing logins exactly
 * one sees the other as previous owner and evicts it; there is never a moment where both
 * believe they are the only one. Each gateway's uids are indexed, so the sessions of a gateway
 * that died can be found and adopted or released (see GatewaySweeper).
 */
export class OnlineTable {
  constructor(private readonly redis: Redis) {}

  /** Makes `entry` the uid's session; returns the session it replaced, if any. */
  async claim(uid: string, entry: OnlineEntry): Promise<OnlineEntry | null> {
    const prev = await CLAIM.run(this.redis, [KEY_PREFIX + uid, GATEWAY_PREFIX + entry.gatewayId, GATEWAYS_KEY], [encode(entry), Date.now(), entry.gatewayId, uid]);
    return parseGatewaySession(prev);
  }

  /** Removes the uid's entry if it still names `entry`; true when removed. */
  async release(uid: string, entry: OnlineEntry): Promise<boolean> {
    const n = await RELEASE_IF_OWNER.run(this.redis, [KEY_PREFIX + uid, GATEWAY_PREFIX + entry.gatewayId], [encode(entry), uid]);
    return n === 1;
  }

  /** The uid's session, or null when offline. */
  async lookup(uid: string): Promise<OnlineEntry | null> {
    return parseGatewaySession(await this.redis.get(KEY_PREFIX + uid));
  }

  /**
   * True when the uid of an ended session is bound to a newer session by now (a login
   * elsewhere): then its end changes nothing for the uid. The away session that continues a dead
   * gateway's session (`closed.successor`) is not newer.
   */
  async replacedSince(closed: { uid: string; gatewayId: string; sid: number; successor?: string }): Promise<boolean> {
    const now = await this.redis.get(KEY_PREFIX + closed.uid);
    return now !== null && now !== encode(closed) && now !== (closed.successor ?? "");
  }

  /** The uids' sessions (null when offline), in one round trip. */
  async lookupMany(uids: readonly string[]): Promise<(OnlineEntry | null)[]> {
    if (uids.length === 0) return [];
    const values = await this.redis.mget(...uids.map((u) => KEY_PREFIX + u));
    return values.map((v) => parseGatewaySession(v));
  }

  /** Gateway ids that have sessions indexed. */
  async gatewaysWithSessions(): Promise<string[]> {
    return this.redis.smembers(GATEWAYS_KEY);
  }

  /** Sessions indexed under a gateway claimed before `beforeMs` (all of them by default). */
  async sessionsOf(gatewayId: string, beforeMs = Number.POSITIVE_INFINITY): Promise<GatewaySession[]> {
    const max = beforeMs === Number.POSITIVE_INFINITY ? "+inf" : `(${beforeMs}`;
    const flat = await this.redis.zrangebyscore(GATEWAY_PREFIX + gatewayId, "-inf", max, "WITHSCORES");
    const uids: string[] = [];
    const times: number[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      uids.push(flat[i]!);
      times.push(Number(flat[i + 1]));
    }
    const entries = await this.lookupMany(uids);
    const out: GatewaySession[] = [];
    entries.forEach((e, i) => {
      if (e !== null && e.gatewayId === gatewayId) out.push({ ...e, uid: uids[i]!, claimedAt: times[i]! });
      // An index entry whose uid now lives elsewhere (or nowhere) is left over: drop it.
      else void this.redis.zrem(GATEWAY_PREFIX + gatewayId, uids[i]!).catch(() => undefined);
    });
    return out;
  }

  /**
   * Takes or renews the sweeper lease for `owner` (ttl `ttlMs`); true while `owner` holds it.
   * One instance of the cluster sweeps, so the pings grow with the gateways, not instances × gateways.
   */
  async holdSweeperLease(owner: string, ttlMs: number): Promise<boolean> {
    return (await LEASE.run(this.redis, [SWEEPER_KEY], [owner, ttlMs])) === 1;
  }

  /** Claims the adoption of dead gateway `gatewayId` for `adopter` (once per `ttlMs`); true when won. */
  async claimAdoption(gatewayId: string, adopter: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(ADOPT_PREFIX + gatewayId, adopter, "PX", ttlMs, "NX")) === "OK";
  }

  /**
   * Keeps a point push for `uid` whose gateway (`entry`) gave no responders (`item` "" only marks
   * the list incomplete: a push that may be lost): "kept", "full" (over `max`: the list is marked
   * incomplete) or "moved" (the entry no longer names `entry`: send again).
   */
  async appendPending(uid: string, entry: OnlineEntry, item: string, max: number, ttlMs: number): Promise<"kept" | "full" | "moved"> {
    const r = await APPEND_PENDING.run(this.redis, [KEY_PREFIX + uid, PENDING_PREFIX + uid], [encode(entry), item, max, ttlMs]);
    return r === 1 ? "kept" : r === 0 ? "full" : "moved";
  }

  /** Marks gone gateway `gatewayId`: pushes to its sessions were lost (for `ttlMs`, the resume window). */
  async markLost(gatewayId: string, ttlMs: number): Promise<void> {
    await this.redis.set(LOST_PREFIX + gatewayId, "1", "PX", ttlMs);
  }

  /** True when pushes to sessions of gone gateway `gatewayId` were lost (see markLost). */
  async pushesLost(gatewayId: string): Promise<boolean> {
    return (await this.redis.exists(LOST_PREFIX + gatewayId)) === 1;
  }

  /**
   * `instanceId` pushed by session to `gatewayId` in the second starting at `bucketMs`. A push
   * by session gets no answer: one sent in the moments between a gateway's death and
   * nats-server noticing it reaches nobody and leaves no trace but this record.
   */
  async notePushedBySession(gatewayId: string, instanceId: string, bucketMs: number, ttlMs: number): Promise<void> {
    await this.redis.multi().hset(PUSHED_PREFIX + gatewayId, instanceId, bucketMs).pexpire(PUSHED_PREFIX + gatewayId, ttlMs).exec();
  }

  /** True when some instance may have pushed by session to `gatewayId` at or after `sinceMs` (see notePushedBySession). */
  async pushedBySessionSince(gatewayId: string, sinceMs: number): Promise<boolean> {
    const buckets = await this.redis.hvals(PUSHED_PREFIX + gatewayId);
    return buckets.some((b) => Number(b) + PUSH_BUCKET_MS > sinceMs);
  }

  /** Reads and deletes the uid's pending pushes (a resume after its old gateway died). */
  async takePending(uid: string): Promise<PendingPushes> {
    return pendingOf(await TAKE_PENDING.run(this.redis, [PENDING_PREFIX + uid], []));
  }

  /**
   * Moves `uid` from the dead session `from` to the adopter's session `to` and takes its pending
   * pushes, in one step; null when the uid's entry no longer names `from` (it logged in again).
   */
  async adoptSession(uid: string, from: OnlineEntry, to: OnlineEntry): Promise<PendingPushes | null> {
    const items = await ADOPT_SESSION.run(
      this.redis,
      [KEY_PREFIX + uid, GATEWAY_PREFIX + from.gatewayId, GATEWAY_PREFIX + to.gatewayId, GATEWAYS_KEY, PENDING_PREFIX + uid],
      [encode(from), encode(to), Date.now(), to.gatewayId, uid],
    );
    return items === null ? null : pendingOf(items);
  }

  /** Forgets a gateway with no sessions left (its index is empty). */
  async forgetGatewayIfEmpty(gatewayId: string): Promise<void> {
    await FORGET_IF_EMPTY.run(this.redis, [GATEWAY_PREFIX + gatewayId, GATEWAYS_KEY], [gatewayId]);
  }
}
