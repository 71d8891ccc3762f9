import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { LoginKeys } from "./accounts.js";

/** The per-address limits AccessPolicy enforces (see LoginSettings). */
export interface AddressLimits {
  maxFailedLogins: number;
  failedLoginWindowSeconds: number;
  maxFailedLoginsPerAddress: number;
  addressFailureWindowSeconds: number;
  maxRegistrationsPerAddressPerHour: number;
}

const HOUR_S = 3600;

/**
 * Who may log in: bans, maintenance mode with a whitelist, and the failed-attempt and
 * registration limits. Failures are counted per (address, username) for the lockout, so
 * someone guessing from another address cannot lock the owner out, and per address overall,
 * so one address cannot guess across many usernames. Counters live in Redis (shared by every
 * login instance), each with a TTL set when it is created, and only for usernames that passed
 * the username rule: an attacker cannot create long or lasting keys.
 */
export class AccessPolicy {
  constructor(
    private readonly redis: Redis,
    private readonly limits: AddressLimits,
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

  /**
   * Throws RATE_LIMITED when `address` had too many failed logins recently, for this username
   * or overall. Read-only: a refused attempt extends nothing.
   */
  async assertNotLockedOut(address: string, username: string): Promise<void> {
    const pair = LoginKeys.failures(address, username);
    const all = LoginKeys.addressFailures(address);
    const [[, pairCount], [, pairTtl], [, allCount], [, allTtl]] = (await this.redis.multi().get(pair).ttl(pair).get(all).ttl(all).exec()) as [
      [null, string | null],
      [null, number],
      [null, string | null],
      [null, number],
    ];
    const l = this.limits;
    if (allCount !== null && Number(allCount) >= l.maxFailedLoginsPerAddress) {
      throw new SwitchyardError("RATE_LIMITED", `too many failed logins from your address: wait ${Math.max(allTtl, 1)} s and try again`);
    }
    if (pairCount !== null && Number(pairCount) >= l.maxFailedLogins) {
      throw new SwitchyardError("RATE_LIMITED", `too many failed logins for this username: wait ${Math.max(pairTtl, 1)} s and try again`);
    }
  }

  /** Counts a failed attempt; each window starts at its first failure. */
  async recordFailure(address: string, username: string): Promise<void> {
    const pair = LoginKeys.failures(address, username);
    const all = LoginKeys.addressFailures(address);
    await this.redis
      .multi()
      .incr(pair)
      .expire(pair, this.limits.failedLoginWindowSeconds, "NX")
      .incr(all)
      .expire(all, this.limits.addressFailureWindowSeconds, "NX")
      .exec();
  }

  /** After a good password: this address's failures for this username are forgiven (not its overall count). */
  async clearFailures(address: string, username: string): Promise<void> {
    await this.redis.del(LoginKeys.failures(address, username));
  }

  /** Counts one registration attempt of `address`; throws RATE_LIMITED past the hourly limit. */
  async takeRegistration(address: string): Promise<void> {
    const key = LoginKeys.registrations(address);
    const [[, count], , [, ttl]] = (await this.redis.multi().incr(key).expire(key, HOUR_S, "NX").ttl(key).exec()) as [[null, number], [null, number], [null, number]];
    if (count > this.limits.maxRegistrationsPerAddressPerHour) {
      throw new SwitchyardError("RATE_LIMITED", `too many registrations from your address: try again in ${Math.max(ttl, 1)} s`);
    }
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
