/** Outcome of `RateLimiter.take`. */
export const RateVerdict = {
  /** A token was available: handle the frame. */
  allowed: 0,
  /** No token: refuse this frame (ERROR RATE_LIMITED for a request). */
  limited: 1,
  /** Refused too often within the abuse window: close the connection. */
  abusive: 2,
} as const;
export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/** How long rejections are counted before the abuse counter starts over. */
export const ABUSE_WINDOW_MS = 10_000;
/** A connection refused more than `ABUSE_FACTOR × burst` frames within the window is closed. */
export const ABUSE_FACTOR = 5;

/**
 * A token bucket per connection: `perSecond` tokens refill continuously up to `burst`.
 * Plain numbers only, the clock is passed in (testable, and the gateway reads it once per chunk).
 */
export class RateLimiter {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly abuseLimit: number;
  private tokens: number;
  private last: number;
  private rejected = 0;
  private windowStart: number;

  constructor(perSecond: number, burst: number, now: number) {
    this.perMs = perSecond / 1000;
    this.burst = Math.max(1, burst);
    this.abuseLimit = ABUSE_FACTOR * this.burst;
    this.tokens = this.burst;
    this.last = now;
    this.windowStart = now;
  }

  /** Tokens left (fractional), after refilling up to `now`. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Takes one token if there is one; otherwise counts a rejection (see RateVerdict). */
  take(now: number): RateVerdict {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return RateVerdict.allowed;
    }
    if (now - this.windowStart > ABUSE_WINDOW_MS) {
      this.windowStart = now;
      this.rejected = 0;
    }
    this.rejected++;
    return this.rejected > this.abuseLimit ? RateVerdict.abusive : RateVerdict.limited;
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed <= 0) return;
    this.last = now;
    const t = this.tokens + elapsed * this.perMs;
    this.tokens = t > this.burst ? this.burst : t;
  }
}
