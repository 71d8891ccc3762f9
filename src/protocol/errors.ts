import { wire } from "../generated/proto.js";

/** Name of a wire error code, e.g. "UNAVAILABLE". The numbers live in proto/wire.proto. */
export type ErrorCodeName = Exclude<keyof typeof wire.ErrorCode, "OK">;

/** Wire error codes by name (re-exported from the generated proto types). */
export const ErrorCode = wire.ErrorCode;

const NAMES: Record<number, ErrorCodeName> = Object.fromEntries(
  Object.entries(wire.ErrorCode)
    .filter(([name]) => name !== "OK")
    .map(([name, n]) => [n, name as ErrorCodeName]),
);

/** What each code means and what the caller should do next; used when no message is given. */
export const DEFAULT_MESSAGES: Record<ErrorCodeName, string> = {
  BAD_REQUEST: "the request is malformed: check the route's request message and its fields",
  UNAUTHENTICATED: "not logged in: call login.Login (or login.Resume with your token) first",
  FORBIDDEN: "not allowed: your account may not perform this action",
  NOT_FOUND: "not found: check the route name (\"<module>.<Method>\") or the id you passed",
  UNAVAILABLE: "the module is not running: retry in a moment, or ask an operator to start it",
  TIMEOUT: "the module did not answer in time: the outcome is unknown, retry if the call is idempotent",
  RATE_LIMITED: "too many requests: slow down and retry later",
  INTERNAL: "internal server error: retry, and report it if it persists (quote the request id)",
  CONFLICT: "the state changed (taken, full or already done): re-read it and retry",
  PROTOCOL: "protocol violation: the connection is closed; check the framing (4-byte big-endian length + wire.Packet)",
  RESYNC: "pushes were missed and can no longer be replayed: re-read your state (team.Info, game.Rejoin, …)",
  MOVED: "this gateway is being replaced: connect to the KICK's redirect, login.Resume, and resend the requests that got no answer",
};

/** Returns the name of a numeric code, INTERNAL for unknown numbers. */
export function codeName(code: number): ErrorCodeName {
  return NAMES[code] ?? "INTERNAL";
}

/** Options of a SwitchyardError. */
export interface SwitchyardErrorOptions {
  cause?: unknown;
}

/**
 * The one error type of the framework: a stable code (see proto/wire.proto) plus a message a
 * user can act on. Handlers throw it; the host turns it into reply headers; callers (modules,
 * gateway, SDK) rebuild it from those headers.
 */
export class SwitchyardError extends Error {
  override readonly name = "SwitchyardError";
  /** Code name, e.g. "NOT_FOUND". */
  readonly code: ErrorCodeName;

  constructor(code: ErrorCodeName, message?: string, options?: SwitchyardErrorOptions) {
    super(message ?? DEFAULT_MESSAGES[code], options);
    this.code = code;
  }

  /** Numeric wire code. */
  get codeNumber(): number {
    return wire.ErrorCode[this.code];
  }

  /** Builds an error from a wire code number and message. */
  static fromWire(code: number, message: string): SwitchyardError {
    const name = codeName(code);
    return new SwitchyardError(name, message || DEFAULT_MESSAGES[name]);
  }

  /** Any thrown value as a SwitchyardError (unknown errors become INTERNAL, keeping the cause). */
  static from(err: unknown): SwitchyardError {
    if (err instanceof SwitchyardError) return err;
    return new SwitchyardError("INTERNAL", undefined, { cause: err });
  }
}

/** True when `err` is a SwitchyardError with the given code. */
export function isErrorCode(err: unknown, code: ErrorCodeName): boolean {
  return err instanceof SwitchyardError && err.code === code;
}
