import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { social } from "../../src/generated/proto.js";
import { defineRedisCommand } from "../../src/module/redis-command.js";
import { SocialKeys as K } from "./social-keys.js";

/** Limits the store enforces. */
export interface SocialLimits {
  maxFriends: number;
  maxPendingRequests: number;
}

type Outcome = "blocked" | "friends" | "full" | "accepted" | "pending" | "too-many" | "requested" | "none" | "declined" | "removed" | "withdrawn";

/** KEYS of every social script: both users' keys, the caller `a` first. */
type PairKeys = [friendsA: string, friendsB: string, incomingA: string, incomingB: string, outgoingA: string, outgoingB: string, blocksA: string, blocksB: string];
/** ARGV of every social script. */
type PairArgs = [a: string, b: string, nowMs: number, maxFriends: number, maxPendingRequests: number];

function pairCommand(name: string, lua: string) {
  return defineRedisCommand<PairKeys, PairArgs, Outcome>({ name, numberOfKeys: 8, lua });
}

// Every change touching both users is one script, so the two sides never disagree.
const REQUEST = pairCommand("sySocialRequest", `
if redis.call('SISMEMBER', KEYS[8], ARGV[1]) == 1 then return 'blocked' end
if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then return 'friends' end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[4]) or redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'full' end
  redis.call('HDEL', KEYS[3], ARGV[2]); redis.call('HDEL', KEYS[6], ARGV[1])
  redis.call('SADD', KEYS[1], ARGV[2]); redis.call('SADD', KEYS[2], ARGV[1])
  return 'accepted'
end
if redis.call('HEXISTS', KEYS[5], ARGV[2]) == 1 then return 'pending' end
if redis.call('HLEN', KEYS[5]) >= tonumber(ARGV[5]) or redis.call('HLEN', KEYS[4]) >= tonumber(ARGV[5]) then return 'too-many' end
redis.call('HSET', KEYS[5], ARGV[2], ARGV[3]); redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
return 'requested'`);

const ACCEPT = pairCommand("sySocialAccept", `
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then return 'none' end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[4]) or redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'full' end
redis.call('HDEL', KEYS[3], ARGV[2]); redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('SADD', KEYS[1], ARGV[2]); redis.call('SADD', KEYS[2], ARGV[1])
return 'accepted'`);

const DECLINE = pairCommand("sySocialDecline", `
if redis.call('HDEL', KEYS[3], ARGV[2]) == 0 then return 'none' end
redis.call('HDEL', KEYS[6], ARGV[1])
return 'declined'`);

const REMOVE = pairCommand("sySocialRemove", `
if redis.call('SREM', KEYS[1], ARGV[2]) == 1 then
  redis.call('SREM', KEYS[2], ARGV[1])
  return 'removed'
end
if redis.call('HDEL', KEYS[5], ARGV[2]) == 1 then
  redis.call('HDEL', KEYS[4], ARGV[1])
  return 'withdrawn'
end
return 'none'`);

const BLOCK = pairCommand("sySocialBlock", `
redis.call('SREM', KEYS[1], ARGV[2]); redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[2]); redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[2]); redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[7], ARGV[2])
return 'blocked'`);

const SCRIPTS = { request: REQUEST, accept: ACCEPT, decline: DECLINE, remove: REMOVE, block: BLOCK } as const;

/** The caller's friends and requests, as uids. */
export interface FriendUids {
  friends: string[];
  incoming: string[];
  outgoing: string[];
}

/**
 * Friendships, requests and blocks in Redis; `a` is always the caller, `b` the other user.
 * Scripts change both users' keys atomically (every social key shares the hash tag `{social}`).
 */
export class SocialStore {
  constructor(
    private readonly redis: Redis,
    private readonly limits: SocialLimits,
  ) {}

  /** True when `owner` blocked `other` (other modules ask through social.IsBlocked). */
  async hasBlocked(owner: string, other: string): Promise<boolean> {
    return (await this.redis.sismember(K.blocks(owner), other)) === 1;
  }

  private run(script: keyof typeof SCRIPTS, a: string, b: string): Promise<Outcome> {
    const keys: PairKeys = [K.friends(a), K.friends(b), K.incoming(a), K.incoming(b), K.outgoing(a), K.outgoing(b), K.blocks(a), K.blocks(b)];
    return SCRIPTS[script].run(this.redis, keys, [a, b, Date.now(), this.limits.maxFriends, this.limits.maxPendingRequests]);
  }

  /** a asks b: "requested", or "accepted" when b had asked a already. */
  async request(a: string, b: string): Promise<"requested" | "accepted"> {
    const r = await this.run("request", a, b);
    switch (r) {
      case "requested":
      case "accepted":
        return r;
      case "blocked":
        throw new SwitchyardError("FORBIDDEN", "you cannot send a friend request to this user");
      case "friends":
        throw new SwitchyardError("CONFLICT", `you are already friends with ${b}`);
      case "pending":
        throw new SwitchyardError("CONFLICT", `you already asked ${b}: wait for an answer, or withdraw it with social.Remove`);
      case "too-many":
        throw new SwitchyardError("RATE_LIMITED", `too many pending friend requests (at most ${this.limits.maxPendingRequests} per user): wait for answers or withdraw some with social.Remove`);
      default:
        throw this.full();
    }
  }

  /** a accepts b's request. */
  async accept(a: string, b: string): Promise<void> {
    const r = await this.run("accept", a, b);
    if (r === "none") throw new SwitchyardError("NOT_FOUND", `there is no friend request from ${b}: social.Friends lists the incoming ones`);
    if (r === "full") throw this.full();
  }

  /** a declines b's request. */
  async decline(a: string, b: string): Promise<void> {
    if ((await this.run("decline", a, b)) === "none") throw new SwitchyardError("NOT_FOUND", `there is no friend request from ${b}: social.Friends lists the incoming ones`);
  }

  /** a ends the friendship with b, or withdraws a's request to b. */
  async remove(a: string, b: string): Promise<"removed" | "withdrawn"> {
    const r = await this.run("remove", a, b);
    if (r === "none") throw new SwitchyardError("NOT_FOUND", `${b} is neither your friend nor asked by you: social.Friends lists both`);
    return r as "removed" | "withdrawn";
  }

  /** a blocks b (ending their friendship and requests); true when they were friends. */
  async block(a: string, b: string): Promise<boolean> {
    const wereFriends = (await this.redis.sismember(K.friends(a), b)) === 1;
    await this.run("block", a, b);
    return wereFriends;
  }

  async unblock(a: string, b: string): Promise<void> {
    if ((await this.redis.srem(K.blocks(a), b)) === 0) throw new SwitchyardError("NOT_FOUND", `you have not blocked ${b}`);
  }

  /** The relation of a towards b. */
  async relation(a: string, b: string): Promise<social.RelationKind> {
    const [blocked, friend, asked] = await Promise.all([this.redis.sismember(K.blocks(a), b), this.redis.sismember(K.friends(a), b), this.redis.hexists(K.outgoing(a), b)]);
    if (blocked === 1) return social.RelationKind.RELATION_BLOCKED;
    if (friend === 1) return social.RelationKind.RELATION_FRIEND;
    if (asked === 1) return social.RelationKind.RELATION_REQUESTED;
    return social.RelationKind.RELATION_NONE;
  }

  async friendUids(uid: string): Promise<FriendUids> {
    const [friends, incoming, outgoing] = await Promise.all([this.redis.smembers(K.friends(uid)), this.redis.hkeys(K.incoming(uid)), this.redis.hkeys(K.outgoing(uid))]);
    return { friends: friends.sort(), incoming: incoming.sort(), outgoing: outgoing.sort() };
  }

  async friendsOf(uid: string): Promise<string[]> {
    return this.redis.smembers(K.friends(uid));
  }

  async blocked(uid: string): Promise<string[]> {
    return (await this.redis.smembers(K.blocks(uid))).sort();
  }

  private full(): SwitchyardError {
    return new SwitchyardError("CONFLICT", `a friend list is full (at most ${this.limits.maxFriends} friends): remove a friend first`);
  }
}

/** For each of `owners`, whether it blocked `other` (one round trip). */
export async function whoBlocked(redis: Redis, owners: readonly string[], other: string): Promise<boolean[]> {
  if (owners.length === 0) return [];
  const pipe = redis.pipeline();
  for (const o of owners) pipe.sismember(K.blocks(o), other);
  const replies = (await pipe.exec()) ?? [];
  return owners.map((_, i) => Number(replies[i]?.[1]) === 1);
}

