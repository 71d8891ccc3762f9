import { resolveReconnect, type ReconnectOptions, type ResolvedReconnect } from "./reconnect.js";

/** Options every transport shares (the client core's). */
export interface CoreClientOptions {
  /** Time allowed to establish the connection; default 5000 ms. */
  timeoutMs?: number;
  /** Interval of client heartbeats; 0 turns them (and dead-gateway detection) off. Default 10 s. */
  heartbeatMs?: number;
  /**
   * Time a request may wait for its reply before rejecting with TIMEOUT; 0 = no limit.
   * Default 10 s: a safety net, the gateway answers TIMEOUT itself after its module timeout.
   */
  requestTimeoutMs?: number;
  /** Largest packet accepted from the gateway; a bigger one closes the connection. Default 16 MiB. */
  maxFrameBytes?: number;
  /**
   * How many times a KICK carrying another gateway's address (a full or draining gateway) is
   * followed before any request was answered; later redirects close the client. Default 3.
   */
  maxRedirects?: number;
  /**
   * Reconnects (jittered exponential backoff) when the connection drops, and resumes the
   * session with login.Resume, replaying missed pushes (README "Resume"). Default on; false
   * turns it off (the client then closes when the connection ends).
   */
  reconnect?: false | ReconnectOptions;
  /**
   * After a reconnect or a gateway move, what was issued meanwhile is sent as replies come back,
   * keeping at most this many requests unanswered (the resent ones included), so that it is not
   * refused by the gateway's `gateway.maxInFlightPerSession`: set the same value. Default 64,
   * that setting's default.
   */
  maxInFlight?: number;
}

/** {@link CoreClientOptions} with every default applied. */
export interface ResolvedCoreOptions {
  timeoutMs: number;
  heartbeatMs: number;
  requestTimeoutMs: number;
  maxFrameBytes: number;
  maxRedirects: number;
  /** Null: no reconnect. */
  reconnect: ResolvedReconnect | null;
  maxInFlight: number;
}

/** Defaults of the client options, spelled once. */
export const CLIENT_DEFAULTS = {
  host: "127.0.0.1",
  port: 3250,
  timeoutMs: 5_000,
  heartbeatMs: 10_000,
  requestTimeoutMs: 10_000,
  maxFrameBytes: 16 * 1024 * 1024,
  maxRedirects: 3,
  maxInFlight: 64,
} as const;

/** Applies defaults and rejects values that cannot work, naming the option. */
export function resolveCoreOptions(opts: CoreClientOptions = {}): ResolvedCoreOptions {
  const r: ResolvedCoreOptions = {
    timeoutMs: opts.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs,
    heartbeatMs: opts.heartbeatMs ?? CLIENT_DEFAULTS.heartbeatMs,
    requestTimeoutMs: opts.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs,
    maxFrameBytes: opts.maxFrameBytes ?? CLIENT_DEFAULTS.maxFrameBytes,
    maxRedirects: opts.maxRedirects ?? CLIENT_DEFAULTS.maxRedirects,
    reconnect: resolveReconnect(opts.reconnect),
    maxInFlight: opts.maxInFlight ?? CLIENT_DEFAULTS.maxInFlight,
  };
  if (!Number.isInteger(r.maxInFlight) || r.maxInFlight < 1) throw new RangeError(`maxInFlight must be a whole number >= 1, got ${r.maxInFlight}`);
  for (const key of ["timeoutMs", "heartbeatMs", "requestTimeoutMs", "maxFrameBytes", "maxRedirects"] as const) {
    if (!Number.isFinite(r[key]) || r[key] < 0) throw new RangeError(`${key} must be a number >= 0, got ${r[key]}`);
  }
  return r;
}

/** Throws unless `port` is a TCP port number, naming where it came from. */
export function checkPort(port: number, what = "port"): void {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`${what} must be 1-65535, got ${port}`);
}
