import { SwitchyardError } from "../protocol/errors.js";

/** 2024-01-01T00:00:00Z: ids count milliseconds from here (41 bits last until 2093). */
export const SNOWFLAKE_EPOCH_MS = 1_704_067_200_000;
/** Bits of the worker id: 1,024 workers issue ids at once without colliding. */
export const WORKER_BITS = 10;
const SEQUENCE_BITS = 12;
export const MAX_WORKER_ID = (1 << WORKER_BITS) - 1;
const MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1;
/** How far the clock may step back before issuing refuses instead of waiting. */
const MAX_BACKWARDS_MS = 5_000;

/** The parts of an id, as {@link decodeSnowflake} reads them. */
export interface SnowflakeParts {
  /** Unix milliseconds when it was issued. */
  timestampMs: number;
  workerId: number;
  sequence: number;
}

/**
 * Snowflake ids: 41 bits of milliseconds since {@link SNOWFLAKE_EPOCH_MS}, 10 bits of worker id,
 * 12 bits of sequence, as a decimal string (64 bits do not fit a JS number). Ids of one worker
 * strictly increase; ids of different workers never collide as long as no two live generators
 * share a worker id, which the worker lease guarantees.
 */
export class SnowflakeGenerator {
  private lastMs = -1;
  private sequence = 0;

  /** @param check runs before each id: throws when this worker may not issue (lost lease). */
  constructor(
    readonly workerId: number,
    private readonly check: () => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER_ID) throw new RangeError(`worker id must be 0-${MAX_WORKER_ID}, got ${workerId}`);
  }

  /** The next id (decimal string). */
  next(): string {
    this.check();
    let ms = this.now();
    if (ms < this.lastMs) {
      if (this.lastMs - ms > MAX_BACKWARDS_MS) {
        throw new SwitchyardError("UNAVAILABLE", `the clock went back ${this.lastMs - ms} ms: ids are refused until it catches up (check NTP on this host)`);
      }
      ms = this.lastMs; // a small step back: keep counting in the last millisecond seen
    }
    if (ms === this.lastMs) {
      this.sequence = (this.sequence + 1) & MAX_SEQUENCE;
      if (this.sequence === 0) {
        // 4,096 ids in this millisecond: wait for the next one rather than repeat an id.
        while (ms <= this.lastMs) ms = Math.max(this.now(), ms);
      }
    } else {
      this.sequence = 0;
    }
    this.lastMs = ms;
    const id = (BigInt(ms - SNOWFLAKE_EPOCH_MS) << BigInt(WORKER_BITS + SEQUENCE_BITS)) | (BigInt(this.workerId) << BigInt(SEQUENCE_BITS)) | BigInt(this.sequence);
    return id.toString();
  }
}

/** Reads the parts of a snowflake id; null when `id` is not one. */
export function decodeSnowflake(id: string): SnowflakeParts | null {
  if (!/^\d{1,20}$/.test(id)) return null;
  const n = BigInt(id);
  if (n >> 63n !== 0n) return null;
  return {
    timestampMs: Number(n >> BigInt(WORKER_BITS + SEQUENCE_BITS)) + SNOWFLAKE_EPOCH_MS,
    workerId: Number((n >> BigInt(SEQUENCE_BITS)) & BigInt(MAX_WORKER_ID)),
    sequence: Number(n & BigInt(MAX_SEQUENCE)),
  };
}
