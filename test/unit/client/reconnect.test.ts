import { describe, expect, it } from "vitest";
import { RECONNECT_DEFAULTS, backoffDelay, resolveReconnect, shouldReconnect } from "../../../src/client/reconnect.js";

describe("SDK reconnect policy", () => {
  const policy = { minDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 5, windowMs: 10_000 };

  it("doubles the step per attempt up to maxDelayMs, half of it jittered", () => {
    const low = [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, policy, () => 0));
    const high = [1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, policy, () => 1));
    expect(low).toEqual([50, 100, 200, 400, 500, 500]);
    expect(high).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
  });

  it("is on by default, off with false, and names a bad option", () => {
    expect(resolveReconnect(undefined)).toEqual(RECONNECT_DEFAULTS);
    expect(resolveReconnect({ maxAttempts: 3 })).toEqual({ ...RECONNECT_DEFAULTS, maxAttempts: 3 });
    expect(resolveReconnect(false)).toBeNull();
    expect(() => resolveReconnect({ minDelayMs: -1 })).toThrow("reconnect.minDelayMs must be a number >= 0, got -1");
    expect(() => resolveReconnect({ minDelayMs: 500, maxDelayMs: 100 })).toThrow("reconnect.maxDelayMs (100) must be >= reconnect.minDelayMs (500)");
  });

  it("does not come back when the server sent the client away", () => {
    expect(shouldReconnect("UNAVAILABLE")).toBe(true);
    expect(shouldReconnect("TIMEOUT")).toBe(true);
    expect(shouldReconnect("FORBIDDEN")).toBe(false);
    expect(shouldReconnect("PROTOCOL")).toBe(false);
  });
});
