import { unrefTimer, type TimerHandle } from "./timers.js";

/** Intervals without any byte from the gateway after which it is considered dead. */
export const MISSED_HEARTBEATS_LIMIT = 3;

/** What the heartbeat drives: sending a beat, and giving up on a silent peer. */
export interface HeartbeatTarget {
  sendHeartbeat(): void;
  /** Called once when nothing arrived for {@link MISSED_HEARTBEATS_LIMIT} intervals. */
  onDead(silentMs: number): void;
}

/**
 * Sends a heartbeat every interval and notices a dead gateway. The read path only flips a
 * boolean per chunk ({@link traffic}); the timer counts intervals that saw none, so a busy
 * connection pays no clock read per packet.
 */
export class Heartbeat {
  private readonly intervalMs: number;
  private readonly target: HeartbeatTarget;
  private timer: TimerHandle | null = null;
  private seen = true;
  private missed = 0;

  constructor(intervalMs: number, target: HeartbeatTarget) {
    this.intervalMs = intervalMs;
    this.target = target;
  }

  /** Starts the timer (no-op when the interval is 0 or it already runs). */
  start(): void {
    if (this.intervalMs <= 0 || this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // A heartbeat alone must not keep a process alive; the socket decides that.
    unrefTimer(this.timer);
  }

  /** Records that bytes arrived from the gateway. */
  traffic(): void {
    this.seen = true;
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One interval elapsed: exported through the class so tests can drive it without a clock. */
  tick(): void {
    if (this.seen) {
      this.seen = false;
      this.missed = 0;
    } else if (++this.missed >= MISSED_HEARTBEATS_LIMIT) {
      this.stop();
      this.target.onDead(this.missed * this.intervalMs);
      return;
    }
    this.target.sendHeartbeat();
  }
}
