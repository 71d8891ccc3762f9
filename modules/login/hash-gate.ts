import { SwitchyardError } from "../../src/protocol/errors.js";

/**
 * Bounds the scrypt work (hashing and verifying) one login instance runs at once. scrypt is
 * the one expensive thing an anonymous client can make the cluster do; past the cap a request is
 * refused at once instead of queueing behind the others (a queue only turns a flood into
 * timeouts for everyone). Per instance, in memory: the work it bounds is this process's CPU.
 */
export class HashGate {
  /** Most scrypt computations running at once. */
  readonly limit: number;
  private running = 0;

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  /** scrypt computations running now. */
  get active(): number {
    return this.running;
  }

  /** Runs `work` in a slot, or throws RATE_LIMITED at once when every slot is taken. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) throw new SwitchyardError("RATE_LIMITED", "login is busy: retry in a moment");
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
    }
  }
}
