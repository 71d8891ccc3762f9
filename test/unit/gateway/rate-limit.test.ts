import { describe, expect, it } from "vitest";
import { ABUSE_FACTOR, ABUSE_WINDOW_MS, RateLimiter, RateVerdict } from "../../../src/gateway/rate-limit.js";

describe("RateLimiter", () => {
  it("allows a burst, then refuses until tokens refill", () => {
    const r = new RateLimiter(10, 3, 0);
    expect([r.take(0), r.take(0), r.take(0)]).toEqual([0, 0, 0]);
    expect(r.take(0)).toBe(RateVerdict.limited);
    expect(r.take(99)).toBe(RateVerdict.limited); // 0.99 token
    expect(r.take(100)).toBe(RateVerdict.allowed); // 1 token after 100 ms at 10/s
    expect(r.take(100)).toBe(RateVerdict.limited);
  });

  it("never refills past the burst", () => {
    const r = new RateLimiter(1000, 5, 0);
    expect(r.available(60_000)).toBe(5);
  });

  it("reports abuse after more than ABUSE_FACTOR × burst refusals in the window", () => {
    const r = new RateLimiter(1, 2, 0);
    r.take(0);
    r.take(0);
    const limit = ABUSE_FACTOR * 2;
    for (let i = 0; i < limit; i++) expect(r.take(1)).toBe(RateVerdict.limited);
    expect(r.take(1)).toBe(RateVerdict.abusive);
  });

  it("starts counting refusals over after the window", () => {
    const r = new RateLimiter(0, 1, 0);
    r.take(0);
    for (let i = 0; i < ABUSE_FACTOR; i++) r.take(1);
    expect(r.take(ABUSE_WINDOW_MS + 2)).toBe(RateVerdict.limited);
    for (let i = 0; i < ABUSE_FACTOR - 1; i++) expect(r.take(ABUSE_WINDOW_MS + 3)).toBe(RateVerdict.limited);
    expect(r.take(ABUSE_WINDOW_MS + 3)).toBe(RateVerdict.abusive);
  });
});
