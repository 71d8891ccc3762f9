import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/** Redis keys of the login module, spelled once. */
export const LoginKeys = {
  uidSequence: "sy:login:uid-seq",
  byName: (username: string) => `sy:login:name:${username.toLowerCase()}`,
  account: (uid: string) => `sy:login:account:${uid}`,
  token: (token: string) => `sy:login:token:${token}`,
  tokensOf: (uid: string) => `sy:login:tokens:${uid}`,
  banned: "sy:login:banned",
  maintenance: "sy:login:maintenance",
  whitelist: "sy:login:whitelist",
  failures: (username: string) => `sy:login:failures:${username.toLowerCase()}`,
} as const;

// Claims the username and writes the account in one atomic step: either both exist or neither.
const CREATE_ACCOUNT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local uid = 'u' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], uid)
redis.call('HSET', KEYS[3] .. uid, 'username', ARGV[1], 'password', ARGV[2], 'created', ARGV[3])
return uid`;

/** A stored account. */
export interface Account {
  uid: string;
  username: string;
  passwordHash: string;
}

/** Accounts and tokens in Redis. */
export class AccountStore {
  constructor(private readonly redis: Redis) {}

  /** Creates an account; null when the username is taken. */
  async create(username: string, passwordHash: string): Promise<string | null> {
    const uid = (await this.redis.eval(
      CREATE_ACCOUNT,
      3,
      LoginKeys.byName(username),
      LoginKeys.uidSequence,
      LoginKeys.account(""),
      username,
      passwordHash,
      String(Date.now()),
    )) as string | number;
    return typeof uid === "string" ? uid : null;
  }

  /** Finds an account by username (case-insensitive). */
  async findByName(username: string): Promise<Account | null> {
    const uid = await this.redis.get(LoginKeys.byName(username));
    if (uid === null) return null;
    const [name, hash] = await this.redis.hmget(LoginKeys.account(uid), "username", "password");
    if (!name || !hash) return null;
    return { uid, username: name, passwordHash: hash };
  }

  /** Issues a random token for uid, valid for ttlSeconds. */
  async issueToken(uid: string, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(24).toString("base64url");
    await this.redis
      .multi()
      .set(LoginKeys.token(token), uid, "EX", ttlSeconds)
      .sadd(LoginKeys.tokensOf(uid), token)
      .expire(LoginKeys.tokensOf(uid), ttlSeconds)
      .exec();
    return { token, expiresAt: Date.now() + ttlSeconds * 1000 };
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

  /** Revokes one token of uid, or all of them when `token` is empty. */
  async revoke(uid: string, token: string): Promise<void> {
    const tokens = token === "" ? await this.redis.smembers(LoginKeys.tokensOf(uid)) : [token];
    if (tokens.length === 0) return;
    const owned = token === "" ? tokens : (await this.redis.get(LoginKeys.token(token))) === uid ? tokens : [];
    if (owned.length === 0) return;
    await this.redis
      .multi()
      .del(...owned.map((t) => LoginKeys.token(t)))
      .srem(LoginKeys.tokensOf(uid), ...owned)
      .exec();
  }
}
