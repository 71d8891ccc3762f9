import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/** Redis keys of the login module, spelled once. */
export const LoginKeys = {
  byName: (username: string) => `sy:login:name:${username.toLowerCase()}`,
  account: (uid: string) => `sy:login:account:${uid}`,
  token: (token: string) => `sy:login:token:${token}`,
  /** Live tokens of a user: sorted set, token → expiry (ms). */
  tokensOf: (uid: string) => `sy:login:user-tokens:${uid}`,
  /** The plain set of tokens written before the per-user limit (read by revoke-all only). */
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
  tokenPrefix: "sy:login:token:",
} as const;

// Claims the username and writes the account in one atomic step: either both exist or neither.
const CREATE_ACCOUNT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local uid = ARGV[4]
redis.call('SET', KEYS[1], uid)
redis.call('HSET', KEYS[2] .. uid, 'username', ARGV[1], 'password', ARGV[2], 'created', ARGV[3])
return uid`;

// Stores a new token and keeps at most ARGV[5] live tokens for the user: expired entries are
// dropped, then the ones expiring first (the oldest) are revoked, never the new one.
// KEYS[1] token key, KEYS[2] the user's token set; ARGV token, uid, ttl s, now ms, max, token key prefix.
const ISSUE_TOKEN = `
local now = tonumber(ARGV[4])
local expires = now + tonumber(ARGV[3]) * 1000
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], expires, ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
local revoked = 0
if extra > 0 then
  for _, t in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra)) do
    if revoked < extra and t ~= ARGV[1] then
      redis.call('DEL', ARGV[6] .. t)
      redis.call('ZREM', KEYS[2], t)
      revoked = revoked + 1
    end
  end
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], math.max(expires, tonumber(last[2])))
return revoked`;

/** A stored account. */
export interface Account {
  uid: string;
  username: string;
  passwordHash: string;
}

/** Accounts and tokens in Redis. */
export class AccountStore {
  constructor(private readonly redis: Redis) {}

  /** Creates account `uid` (a new snowflake uid, "u<id>"); null when the username is taken. */
  async create(username: string, passwordHash: string, uid: string): Promise<string | null> {
    const created = (await this.redis.eval(
      CREATE_ACCOUNT,
      2,
      LoginKeys.byName(username),
      LoginKeys.account(""),
      username,
      passwordHash,
      String(Date.now()),
      uid,
    )) as string | number;
    return typeof created === "string" ? created : null;
  }

  /** Finds an account by username (case-insensitive). */
  async findByName(username: string): Promise<Account | null> {
    const uid = await this.redis.get(LoginKeys.byName(username));
    if (uid === null) return null;
    const [name, hash] = await this.redis.hmget(LoginKeys.account(uid), "username", "password");
    if (!name || !hash) return null;
    return { uid, username: name, passwordHash: hash };
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
    const revoked = (await this.redis.eval(
      ISSUE_TOKEN,
      2,
      LoginKeys.token(token),
      LoginKeys.tokensOf(uid),
      token,
      uid,
      String(ttlSeconds),
      String(now),
      String(maxTokens),
      LoginKeys.tokenPrefix,
    )) as number;
    return { token, expiresAt: now + ttlSeconds * 1000, revoked };
  }

  /** The user's live tokens, oldest first. */
  async liveTokens(uid: string): Promise<string[]> {
    return this.redis.zrangebyscore(LoginKeys.tokensOf(uid), Date.now(), "+inf");
  }

  /** The uid a token belongs to and when it expires; null when expired, revoked or unknown. */
  async checkToken(token: string): Promise<{ uid: string; expiresAt: number } | null> {
    if (token === "") return null;
    const [[, uid], [, ttlMs]] = (await this.redis.multi().get(LoginKeys.token(token)).pttl(LoginKeys.token(token)).exec()) as [
      [Error | null, string | null],
      [Error | null, number],
    ];
    if (uid === null || ttlMs <= 0) return null;
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
