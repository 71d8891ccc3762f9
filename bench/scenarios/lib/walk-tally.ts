import { performance } from "node:perf_hooks";

/** Latencies above this (ms) count in the last bucket. */
const MAX_LATENCY_MS = 10_000;
const SEQ_SPAN = 2 ** 32;

/** The walkers' send clock, put in MoveRequest.seq: epoch ms modulo 2^32 (one clock for every process of the machine). */
export function sendClock(): number {
  return Math.floor(performance.timeOrigin + performance.now()) % SEQ_SPAN;
}

/**
 * Milliseconds from a move stamped `seq` (by sendClock) until `clock`. Processes round the clock
 * apart by up to a millisecond, so a stamp slightly ahead counts as 0, not as 2^32 ms.
 */
export function msBetween(seq: number, clock: number): number {
  const d = (clock - seq + SEQ_SPAN) % SEQ_SPAN;
  return d > SEQ_SPAN / 2 ? 0 : d;
}

/** What the walking bots of one process counted: moves sent, updates received and their latency. */
export class WalkTally {
  /** Bots that entered the scene (not reset). */
  walking = 0;
  moves = 0;
  /** Positions pushes received. */
  pushes = 0;
  /** Player states received in Positions pushes (position updates delivered). */
  updates = 0;
  corrections = 0;
  appeared = 0;
  disappeared = 0;
  /** Move → neighbour receipt, 1 ms buckets. */
  readonly latency = new Uint32Array(MAX_LATENCY_MS + 1);

  /** Counts a received state whose move was sent at `seq`. */
  received(seq: number): void {
    this.receivedAt(seq, sendClock());
  }

  /** Counts a received state whose move was sent at `seq`, read at `clock` (a sendClock() taken once per batch read). */
  receivedAt(seq: number, clock: number): void {
    this.updates++;
    this.latency[Math.min(MAX_LATENCY_MS, msBetween(seq, clock))]!++;
  }

  reset(): void {
    this.moves = this.pushes = this.updates = this.corrections = this.appeared = this.disappeared = 0;
    this.latency.fill(0);
  }

  /** Sparse latency buckets [ms, count][] for a report. */
  buckets(): [number, number][] {
    const out: [number, number][] = [];
    this.latency.forEach((n, ms) => n > 0 && out.push([ms, n]));
    return out;
  }
}

/** The p-th percentile (0-100) of sparse 1 ms buckets, in ms. */
export function percentile(buckets: readonly [number, number][], p: number): number {
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const [ms, c] of [...buckets].sort((a, b) => a[0] - b[0])) {
    seen += c;
    if (seen >= rank) return ms;
  }
  return NaN;
}
