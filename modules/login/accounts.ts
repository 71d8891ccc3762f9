import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { defineRedisCommand } from "../../src/module/redis-command.js";

/** Redis keys of the login module, spelled once. */
export const LoginKeys = {
  byName: (username: string) => `sy:login:name:${username.toLowerCase()}`,
  account: (uid: string) => `sy:login:account:${uid}`,
  token: (token: string) => `sy:login:token:${token}`,
  /** Live tokens of a user: sorted set, token → expiry (ms). */
  tokensOf: (uid: string) => `sy:login:user-tokens:${uid}`,
  /** The plain set of tokens written before the per-user limit (read by checkToken and revoke-all). */
  legacyTokensOf: (uid: string) => `sy:login:tokens:${uid}`,
  banned: "sy:login:banned",
  maintenance: "sy:login:maintenance",
  whitelist: "sy:login:whitelist",
  /** Failed logins of one username from one address (validated usernames only). */
  failures: (address: string, username: string) => `sy:login:failures:${address}/${username.toLowerCase()}`,
  /** Failed logins from one address, any username. */
  addressFailures: (address: string) => `sy:login:address-failures:${address}`,
  /** Registration attempts of one address this hour. */
  registrations: (address: string) => `sy:login:registrations:${address}`,
} as const;

// Stores a new token in the user's token set and keeps at most ARGV[4] live ones: expired
// entries are dropped, then the ones expiring first (the oldest) are revoked, never the new one.
// One key, so it runs on Redis Cluster; the set is what makes a token valid (see checkToken), so
// the revocation is done here, atomically, and deleting the revoked tokens' keys is cleanup.
// KEYS[1] the user's token set; ARGV token, ttl s, now ms, max. Returns the revoked tokens.
const ISSUE_TOKEN = defineRedisCommand<[userTokens: string], [token: string, ttlSeconds: number, nowMs: number, maxTokens: number], string[]>({
  name: "syLoginIssueToken",
  numberOfKeys: 1,
  lua: `
local now = tonumber(ARGV[3])
local expires = now + tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], expires, ARGV[1])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
local revoked = {}
if extra > 0 then
  for _, t in ipairs(redis.call('ZRANGE', KEYS[1], 0, extra)) do
    if #revoked < extra and t ~= ARGV[1] then
      redis.call('ZREM', KEYS[1], t)
      revoked[#revoked + 1] = t
    end
  end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.max(expires, tonumber(last[2])))
return revoked`,
});

/** A stored account. */
export interface Account {
  uid: string;
  username: string;
  passwordHash: string;
}

/** Accounts and tokens in Redis. */
export class AccountStore {
  constructor(private readonly redis: Redis) {}

  /**
   * Creates account `uid` (a new snowflake uid, "u<id>"); null when the username is taken. The
   * account hash is written before the username is claimed (SET NX), so a claimed name always
   * leads to a complete account; when the claim loses, the new hash is deleted. (No script: the
   * name and the uid are two keys in two hash slots.)
   */
  async create(username: string, passwordHash: string, uid: string): Promise<string | null> {
    await this.redis.hset(LoginKeys.account(uid), "username", username, "password", passwordHash, "created", String(Date.now()));
    if ((await this.redis.set(LoginKeys.byName(username), uid, "NX")) === "OK") return uid;
    await this.redis.del(LoginKeys.account(uid));
    return null;
  }

  /** Finds an account by username (case-insensitive). */
  async findByName(username: string): Promise<Account | null> {
    const uid = await this.redis.get(LoginKeys.byName(username));
    if (uid === null) return null;
    const [name, hash] = await this.redis.hmget(LoginKeys.account(uid), "username", "password");
    if (!name || !hash) return null;
    return { uid, username: name, passwordHash: hash };
  }

  /** Usernames of uids in one pipeline (one round trip however many), "" for a uid with no account. */
  async usernamesOf(uids: readonly string[]): Promise<string[]> {
    if (uids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const uid of uids) pipe.hget(LoginKeys.account(uid), "username");
    const replies = (await pipe.exec()) ?? [];
    return uids.map((_, i) => {
      const value = replies[i]?.[1];
      return typeof value === "string" ? value : "";
    });
  }

  /** True when the username is taken (case-insensitive); a cheap check before hashing. */
  async nameTaken(username: string): Promise<boolean> {
    return (await this.redis.exists(LoginKeys.byName(username))) === 1;
  }

  /**
   * Issues a random token for uid, valid for ttlSeconds. The user keeps at most `maxTokens`
   * live tokens: the oldest beyond that are revoked in the same atomic step.
   */
  async issueToken(uid: string, ttlSeconds: number, maxTokens: number): Promise<{ token: string; expiresAt: number; revoked: number }> {
    const token = randomBytes(24).toString("base64url");
    const now = Date.now();
    await this.redis.set(LoginKeys.token(token), uid, "EX", ttlSeconds);
    const revoked = await ISSUE_TOKEN.run(this.redis, [LoginKeys.tokensOf(uid)], [token, ttlSeconds, now, maxTokens]);
    if (revoked.length > 0) await this.redis.del(...revoked.map((t) => LoginKeys.token(t)));
    return { token, expiresAt: now + ttlSeconds * 1000, revoked: revoked.length };
  }

  /** The user's live tokens, oldest first. */
  async liveTokens(uid: string): Promise<string[]> {
    return this.redis.zrangebyscore(LoginKeys.tokensOf(uid), Date.now(), "+inf");
  }

  /**
   * The uid a token belongs to and when it expires; null when expired, revoked or unknown. A
   * token is valid while its key lives and the user's token set still lists it (a revocation by
   * the per-user limit takes it out of the set first), or the pre-limit set of the user does.
   */
  async checkToken(token: string): Promise<{ uid: string; expiresAt: number } | null> {
    if (token === "") return null;
    const [[, uid], [, ttlMs]] = (await this.redis.multi().get(LoginKeys.token(token)).pttl(LoginKeys.token(token)).exec()) as [
      [Error | null, string | null],
      [Error | null, number],
    ];
    if (uid === null || ttlMs <= 0) return null;
    const [[, listed], [, legacy]] = (await this.redis.pipeline().zscore(LoginKeys.tokensOf(uid), token).sismember(LoginKeys.legacyTokensOf(uid), token).exec()) as [
      [Error | null, string | null],
      [Error | null, number],
    ];
    if (listed === null && legacy !== 1) return null;
    return { uid, expiresAt: Date.now() + ttlMs };
  }

  /** Revokes one token of uid (only if it is uid's), or all of them when `token` is empty. */
  async revoke(uid: string, token: string): Promise<void> {
    if (token !== "") {
      if ((await this.redis.get(LoginKeys.token(token))) !== uid) return;
      await this.redis.multi().del(LoginKeys.token(token)).zrem(LoginKeys.tokensOf(uid), token).exec();
      return;
    }
    const [[, current], [, legacy]] = (await this.redis.multi().zrange(LoginKeys.tokensOf(uid), 0, -1).smembers(LoginKeys.legacyTokensOf(uid)).exec()) as [
      [null, string[]],
      [null, string[]],
    ];
    const all = [...current, ...legacy];
    const tx = this.redis.multi().del(LoginKeys.tokensOf(uid), LoginKeys.legacyTokensOf(uid));
    if (all.length > 0) tx.del(...all.map((t) => LoginKeys.token(t)));
    await tx.exec();
  }
}
