import { describe, expect, it } from "vitest";
import { CrashHistory, restartDelayMs, type RestartPolicy } from "../../../src/master/backoff.js";

const policy: RestartPolicy = { restartBackoffMinMs: 250, restartBackoffMaxMs: 15_000, crashLoopCount: 5, crashLoopWindowMs: 60_000 };

describe("restartDelayMs", () => {
  it("doubles from the minimum and stops at the maximum", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelayMs(n, policy))).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
  });

  it("treats 0 or negative counts as a first crash and never overflows", () => {
    expect(restartDelayMs(0, policy)).toBe(250);
    expect(restartDelayMs(-3, policy)).toBe(250);
    expect(restartDelayMs(10_000, policy)).toBe(15_000);
  });
});

describe("CrashHistory", () => {
  it("flags a crash loop after more than crashLoopCount crashes within the window", () => {
    const h = new CrashHistory(policy);
    const decisions = [0, 1, 2, 3, 4, 5].map((i) => h.record(1_000 + i * 100));
    expect(decisions.map((d) => d.crashLooping)).toEqual([false, false, false, false, false, true]);
    expect(decisions.map((d) => d.recentCrashes)).toEqual([1, 2, 3, 4, 5, 6]);
    // crash-looping: keeps retrying, at the maximum backoff
    expect(decisions[5]!.delayMs).toBe(15_000);
    expect(h.isCrashLooping(2_000)).toBe(true);
  });

  it("forgets crashes older than the window, so backoff starts over", () => {
    const h = new CrashHistory(policy);
    for (let i = 0; i < 6; i++) h.record(i);
    expect(h.isCrashLooping(10)).toBe(true);
    expect(h.recent(60_010)).toBe(0);
    expect(h.isCrashLooping(60_010)).toBe(false);
    expect(h.record(60_010)).toEqual({ recentCrashes: 1, crashLooping: false, delayMs: 250 });
  });

  it("keeps crashes spread over the window counted", () => {
    const h = new CrashHistory({ ...policy, crashLoopCount: 2, crashLoopWindowMs: 1_000 });
    h.record(0);
    h.record(600);
    expect(h.record(1_100)).toMatchObject({ recentCrashes: 2, crashLooping: false, delayMs: 500 });
    expect(h.record(1_200)).toMatchObject({ recentCrashes: 3, crashLooping: true });
  });
});
