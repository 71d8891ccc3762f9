import { randomInt } from "node:crypto";
import type { Redis } from "ioredis";
import { SwitchyardError } from "../protocol/errors.js";
import type { Logger } from "../log/logger.js";
import { defineRedisCommand } from "../module/redis-command.js";
import { MAX_WORKER_ID } from "./snowflake.js";

const KEY_PREFIX = "sy:ids:worker:";

// Extends the lease only while it is still ours: a lease that expired and was taken by another
// process is never extended by its former holder.
const RENEW_IF_OWNER = defineRedisCommand<[lease: string], [owner: string, leaseMs: number], number>({
  name: "syIdsRenewLeaseIfOwner",
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`,
});

const RELEASE_IF_OWNER = defineRedisCommand<[lease: string], [owner: string], number>({
  name: "syIdsReleaseLeaseIfOwner",
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`,
});

/** How a lease is held. */
export interface WorkerLeaseOptions {
  /** Written as the lease's value (e.g. the instance id plus a random tag). */
  owner: string;
  /** Lease time to live; renewed every third of it. Default 30 s. */
  leaseMs?: number;
  log?: Logger;
}

/**
 * A worker id held in Redis (`sy:ids:worker:<n>` = owner, with a TTL): taken with SET NX, so no
 * two live processes hold the same id, and renewed in the background. The holder stops issuing
 * ids once the lease may have expired (its last confirmed renewal is older than the TTL minus a
 * margin), so a process cut off from Redis cannot keep issuing ids under a worker id that
 * another process may have taken meanwhile.
 */
export class WorkerLease {
  private validUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private released = false;

  private constructor(
    private readonly redis: Redis,
    readonly workerId: number,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly log: Logger | undefined,
  ) {}

  /** Takes a free worker id (starting at a random one) and starts renewing it. */
  static async acquire(redis: Redis, opts: WorkerLeaseOptions): Promise<WorkerLease> {
    const leaseMs = opts.leaseMs ?? 30_000;
    const start = randomInt(MAX_WORKER_ID + 1);
    for (let i = 0; i <= MAX_WORKER_ID; i++) {
      const id = (start + i) % (MAX_WORKER_ID + 1);
      const askedAt = Date.now();
      const ok = await redis.set(KEY_PREFIX + id, opts.owner, "PX", leaseMs, "NX");
      if (ok === "OK") {
        const lease = new WorkerLease(redis, id, opts.owner, leaseMs, opts.log);
        lease.validUntil = askedAt + leaseMs;
        lease.schedule();
        return lease;
      }
    }
    throw new SwitchyardError("UNAVAILABLE", `all ${MAX_WORKER_ID + 1} snowflake worker ids are leased: stop idle instances or wait ${leaseMs} ms for dead ones' leases to expire`);
  }

  /** True while ids may be issued under this worker id. */
  get held(): boolean {
    // A margin of a tenth of the lease covers clock drift between this host and Redis.
    return !this.released && Date.now() < this.validUntil - this.leaseMs / 10;
  }

  /** Throws UNAVAILABLE unless the lease is held (the id generator's check). */
  assertHeld(): void {
    if (!this.held) {
      throw new SwitchyardError("UNAVAILABLE", `snowflake worker id ${this.workerId} is not confirmed by Redis any more: ids are refused until the lease is renewed (is Redis reachable?)`);
    }
  }

  /** Renews once now; false when the lease is no longer ours (it was lost for good). */
  async renew(): Promise<boolean> {
    const askedAt = Date.now();
    const n = await RENEW_IF_OWNER.run(this.redis, [KEY_PREFIX + this.workerId], [this.owner, this.leaseMs]);
    if (n === 1) {
      this.validUntil = askedAt + this.leaseMs;
      return true;
    }
    // Another process holds the id now, or it expired: take it again only if nobody has.
    const again = await this.redis.set(KEY_PREFIX + this.workerId, this.owner, "PX", this.leaseMs, "NX");
    if (again === "OK") {
      this.validUntil = askedAt + this.leaseMs;
      this.log?.warn({ workerId: this.workerId }, "snowflake worker lease had expired and was taken again");
      return true;
    }
    this.validUntil = 0;
    this.log?.error({ workerId: this.workerId }, "snowflake worker lease lost to another process: this instance issues no more ids");
    return false;
  }

  /** Stops renewing and deletes the lease (if still ours). */
  async release(): Promise<void> {
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    await RELEASE_IF_OWNER.run(this.redis, [KEY_PREFIX + this.workerId], [this.owner]).catch(() => undefined);
  }

  private schedule(): void {
    if (this.released) return;
    this.timer = setTimeout(() => {
      this.renew()
        .catch((err: unknown) => this.log?.warn({ err: (err as Error).message, workerId: this.workerId }, "snowflake worker lease renewal failed; retrying"))
        .finally(() => this.schedule());
    }, this.leaseMs / 3);
    this.timer.unref();
  }
}
