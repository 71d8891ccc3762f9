import type { ErrorCodeName } from "../protocol/errors.js";

/** How the SDK reconnects after losing its connection (`reconnect` client option). */
export interface ReconnectOptions {
  /** First delay before a new attempt; default 100 ms. */
  minDelayMs?: number;
  /** Longest delay between attempts; default 5000 ms. */
  maxDelayMs?: number;
  /** Attempts before giving up (the client then closes); default 20. */
  maxAttempts?: number;
  /**
   * Longest time from the drop to giving up, and the longest a request issued meanwhile waits
   * (it then fails UNAVAILABLE, unsent); default 30 000 ms.
   */
  windowMs?: number;
}

/** {@link ReconnectOptions} with every default applied. */
export type ResolvedReconnect = Required<ReconnectOptions>;

export const RECONNECT_DEFAULTS: ResolvedReconnect = { minDelayMs: 100, maxDelayMs: 5_000, maxAttempts: 20, windowMs: 30_000 };

/** Null when reconnecting is off (`false`); rejects values that cannot work, naming the option. */
export function resolveReconnect(opt: false | ReconnectOptions | undefined): ResolvedReconnect | null {
  if (opt === false) return null;
  const r: ResolvedReconnect = { ...RECONNECT_DEFAULTS, ...opt };
  for (const key of ["minDelayMs", "maxDelayMs", "maxAttempts", "windowMs"] as const) {
    if (!Number.isFinite(r[key]) || r[key] < 0) throw new RangeError(`reconnect.${key} must be a number >= 0, got ${r[key]}`);
  }
  if (r.maxDelayMs < r.minDelayMs) throw new RangeError(`reconnect.maxDelayMs (${r.maxDelayMs}) must be >= reconnect.minDelayMs (${r.minDelayMs})`);
  return r;
}

/**
 * Delay before attempt `attempt` (1 = the first after the drop): exponential, capped, with
 * "equal jitter": half the step fixed, half random, so clients dropped together by one gateway
 * spread out instead of reconnecting in lockstep.
 */
export function backoffDelay(attempt: number, r: ResolvedReconnect, random: () => number = Math.random): number {
  const step = Math.min(r.maxDelayMs, r.minDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Whether a connection that ended with `code` (a KICK's, or the transport's UNAVAILABLE) is
 * worth reconnecting: not when the server meant this client to stay away (logged in elsewhere,
 * banned, kicked: FORBIDDEN) or when it broke the protocol.
 */
export function shouldReconnect(code: ErrorCodeName | null): boolean {
  return code !== "FORBIDDEN" && code !== "PROTOCOL" && code !== "UNAUTHENTICATED";
}

/** What `onReconnect` tells. */
export interface ReconnectInfo {
  /** Attempts it took (1: the first one succeeded). */
  attempts: number;
  /** Milliseconds from the drop to the resumed session. */
  downtimeMs: number;
  /** Where the client is connected now. */
  address: string;
  /** True when login.Resume bound the session again (false: the client was not logged in). */
  resumed: boolean;
  /** Pushes replayed by the resume (they were delivered to the push handlers before this event). */
  replayed: number;
  /** True when pushes were missed and could not be replayed (RESYNC): re-read your state. */
  resync: boolean;
  /** True when the gateway moved the client (KICK MOVED): the unanswered requests were sent again. */
  moved: boolean;
}
