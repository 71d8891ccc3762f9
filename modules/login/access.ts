import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/bus/errors.js";
import { LoginKeys } from "./accounts.js";

/** Failed password attempts per username allowed in one window before RATE_LIMITED. */
export interface FailureLimit {
  attempts: number;
  windowSeconds: number;
}

export const DEFAULT_FAILURE_LIMIT: FailureLimit = { attempts: 5, windowSeconds: 60 };

/** Who may log in: bans, maintenance mode with a whitelist, and failed-attempt limits. */
export class AccessPolicy {
  constructor(
    private readonly redis: Redis,
    private readonly limit: FailureLimit = DEFAULT_FAILURE_LIMIT,
  ) {}

  /** Throws when uid may not log in now (banned, or maintenance and not whitelisted). */
  async assertMayLogIn(uid: string): Promise<void> {
    const [[, banned], [, maintenance], [, whitelisted]] = (await this.redis
      .multi()
      .sismember(LoginKeys.banned, uid)
      .get(LoginKeys.maintenance)
      .sismember(LoginKeys.whitelist, uid)
      .exec()) as [[null, number], [null, string | null], [null, number]];
    if (banned === 1) throw new SwitchyardError("FORBIDDEN", "this account is banned: contact support");
    if (maintenance === "1" && whitelisted !== 1) {
      throw new SwitchyardError("UNAVAILABLE", "the server is under maintenance: try again later");
    }
  }

  /** Throws RATE_LIMITED when the username had too many failed attempts recently. */
  async assertNotLockedOut(username: string): Promise<void> {
    const key = LoginKeys.failures(username);
    const [[, count], [, ttl]] = (await this.redis.multi().get(key).ttl(key).exec()) as [[null, string | null], [null, number]];
    if (count !== null && Number(count) >= this.limit.attempts) {
      throw new SwitchyardError("RATE_LIMITED", `too many failed logins for this username: wait ${Math.max(ttl, 1)} s and try again`);
    }
  }

  /** Counts a failed attempt (the window starts at the first failure). */
  async recordFailure(username: string): Promise<void> {
    const key = LoginKeys.failures(username);
    await this.redis.multi().incr(key).expire(key, this.limit.windowSeconds, "NX").exec();
  }

  async clearFailures(username: string): Promise<void> {
    await this.redis.del(LoginKeys.failures(username));
  }

  async ban(uid: string): Promise<void> {
    await this.redis.sadd(LoginKeys.banned, uid);
  }

  async unban(uid: string): Promise<void> {
    await this.redis.srem(LoginKeys.banned, uid);
  }

  /** Switches maintenance mode; a non-empty whitelist replaces the current one. */
  async setMaintenance(enabled: boolean, whitelist: string[]): Promise<{ enabled: boolean; whitelist: string[] }> {
    const tx = this.redis.multi();
    if (enabled) tx.set(LoginKeys.maintenance, "1");
    else tx.del(LoginKeys.maintenance);
    if (whitelist.length > 0) tx.del(LoginKeys.whitelist).sadd(LoginKeys.whitelist, ...whitelist);
    await tx.exec();
    const current = await this.redis.smembers(LoginKeys.whitelist);
    return { enabled, whitelist: current.sort() };
  }
}
