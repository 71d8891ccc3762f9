import type { Redis } from "ioredis";
import { SwitchyardError } from "../protocol/errors.js";
import type { RedisConfig } from "../config/cluster-config.js";
import { trackAppliedWrites } from "./write-tracking.js";

/**
 * Confirms that the writes a request made through one Redis connection reached replicas before
 * the request is answered (Redis `WAIT`), so an answered write survives the primary's loss.
 */
export interface WriteConfirmer {
  /** Counts the connection's losses; a request reads it when it starts. */
  readonly epoch: number;
  /**
   * Resolves once `replicas` replicas hold every write this connection has made so far and the
   * connection was not lost since `startEpoch`; rejects with UNAVAILABLE otherwise (the writes
   * may then be lost by a failover, so the request must not be acknowledged). Without a write
   * since the last confirmed WAIT it resolves at once: reads cost no round trip and are served
   * while no replica is connected.
   */
  confirm(startEpoch: number): Promise<void>;
}

interface Waiter {
  startEpoch: number;
  resolve: () => void;
  reject: (err: SwitchyardError) => void;
}

/** Replicas a request's writes wait for: `redis.confirmReplicas`, else 1 with sentinels, else 0. */
export function confirmReplicasOf(redis: Pick<RedisConfig, "confirmReplicas" | "sentinels">): number {
  return redis.confirmReplicas ?? (redis.sentinels !== undefined ? 1 : 0);
}

/** A confirmer on `redis` that waits for `replicas` replicas, at most `timeoutMs`. */
export function createWriteConfirmer(redis: Redis, replicas: number, timeoutMs: number): WriteConfirmer {
  return new WriteConfirmerImpl(redis, replicas, timeoutMs);
}

class WriteConfirmerImpl implements WriteConfirmer {
  epoch = 0;
  /** Writes answered on this connection; `confirmed`: how many of them replicas hold. */
  private applied = 0;
  private confirmed = 0;
  private batch: Waiter[] | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {
    // A lost connection may have lost writes the old primary acknowledged, and ioredis resends an
    // unanswered WAIT on the new connection, where it would count nothing of ours.
    redis.on("close", () => {
      this.epoch++;
      this.confirmed = this.applied;
    });
    trackAppliedWrites(redis, () => this.applied++);
  }

  confirm(startEpoch: number): Promise<void> {
    if (startEpoch !== this.epoch) return Promise.reject(lostConnection());
    if (this.applied === this.confirmed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (this.batch === null) {
        this.batch = [];
        // One WAIT for every request that finished in this turn of the event loop: WAIT blocks
        // the connection, and it covers every write sent on it before.
        setImmediate(() => this.flush());
      }
      this.batch.push({ startEpoch, resolve, reject });
    });
  }

  private flush(): void {
    const waiters = this.batch ?? [];
    this.batch = null;
    const sentAt = this.epoch;
    const covered = this.applied;
    this.redis.wait(this.replicas, this.timeoutMs).then(
      (acked) => {
        if (acked >= this.replicas && sentAt === this.epoch) this.confirmed = Math.max(this.confirmed, covered);
        for (const w of waiters) {
          if (w.startEpoch !== this.epoch || sentAt !== this.epoch) w.reject(lostConnection());
          else if (acked < this.replicas) w.reject(notConfirmed(acked, this.replicas, this.timeoutMs));
          else w.resolve();
        }
      },
      (err: unknown) => {
        const e = new SwitchyardError("UNAVAILABLE", "storage (Redis) could not confirm the writes with its replicas: retry in a moment", { cause: err });
        for (const w of waiters) w.reject(e);
      },
    );
  }
}

function lostConnection(): SwitchyardError {
  return new SwitchyardError("UNAVAILABLE", "storage (Redis) failed over while this request ran, so its writes may be lost: retry it");
}

function notConfirmed(acked: number, wanted: number, timeoutMs: number): SwitchyardError {
  return new SwitchyardError(
    "UNAVAILABLE",
    `storage (Redis): ${acked} of ${wanted} replicas confirmed the writes within ${timeoutMs} ms, so they may be lost on a failover: retry in a moment (an operator should check the replicas)`,
  );
}
