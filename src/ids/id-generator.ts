import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import { SnowflakeGenerator } from "./snowflake.js";
import { WorkerLease } from "./worker-lease.js";

/** Cluster-unique ids for one module instance. */
export interface IdGenerator {
  /** The worker id leased for this instance. */
  readonly workerId: number;
  /** A new snowflake id (decimal string); throws UNAVAILABLE while the worker lease is not confirmed. */
  next(): string;
  /** Releases the worker id (call once, when the instance stops). */
  close(): Promise<void>;
}

/** Leases a worker id in Redis for `owner` and returns a generator of snowflake ids under it. */
export async function startIdGenerator(redis: Redis, owner: string, opts: { leaseMs?: number; log?: Logger } = {}): Promise<IdGenerator> {
  // A restarted instance keeps its id but is another holder: its old lease must not look like its own.
  const lease = await WorkerLease.acquire(redis, { owner: `${owner}/${randomBytes(4).toString("hex")}`, ...opts });
  const gen = new SnowflakeGenerator(lease.workerId, () => lease.assertHeld());
  opts.log?.info({ workerId: lease.workerId }, "snowflake worker id leased");
  return {
    workerId: lease.workerId,
    next: () => gen.next(),
    close: () => lease.release(),
  };
}
