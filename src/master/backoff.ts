import type { MasterSettings } from "../config/cluster-config.js";

/** The supervision knobs the restart policy reads. */
export type RestartPolicy = Pick<MasterSettings, "restartBackoffMinMs" | "restartBackoffMaxMs" | "crashLoopCount" | "crashLoopWindowMs">;

/**
 * Delay before restarting a process that crashed `recentCrashes` times within the crash-loop
 * window (1 for a first crash): min, 2×min, 4×min … capped at max.
 */
export function restartDelayMs(recentCrashes: number, policy: RestartPolicy): number {
  const n = Math.max(1, Math.floor(recentCrashes));
  // 2 ** 30 already exceeds any sane cap; avoids Infinity for absurd counts.
  const delay = policy.restartBackoffMinMs * 2 ** Math.min(n - 1, 30);
  return Math.min(policy.restartBackoffMaxMs, Math.max(0, delay));
}

/** What the master decides after a crash. */
export interface RestartDecision {
  /** Crashes within the window, this one included. */
  recentCrashes: number;
  /** More than crashLoopCount crashes within crashLoopWindowMs. */
  crashLooping: boolean;
  delayMs: number;
}

/**
 * Remembers when one supervised slot crashed and turns each new crash into a restart decision.
 * A crash-looping slot keeps being restarted, at the maximum backoff.
 */
export class CrashHistory {
  private readonly policy: RestartPolicy;
  private times: number[] = [];

  constructor(policy: RestartPolicy) {
    this.policy = policy;
  }

  /** Records a crash at `now` and returns how long to wait before the next start. */
  record(now: number): RestartDecision {
    this.times.push(now);
    const recentCrashes = this.recent(now);
    const crashLooping = recentCrashes > this.policy.crashLoopCount;
    const delayMs = crashLooping ? this.policy.restartBackoffMaxMs : restartDelayMs(recentCrashes, this.policy);
    return { recentCrashes, crashLooping, delayMs };
  }

  /** Crashes within the window ending at `now` (older ones are forgotten). */
  recent(now: number): number {
    const from = now - this.policy.crashLoopWindowMs;
    if (this.times.length > 0 && this.times[0]! <= from) this.times = this.times.filter((t) => t > from);
    return this.times.length;
  }

  /** True while more than crashLoopCount crashes lie within the window ending at `now`. */
  isCrashLooping(now: number): boolean {
    return this.recent(now) > this.policy.crashLoopCount;
  }
}
