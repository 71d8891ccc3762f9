import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";

/** How to reach a gateway and how the client behaves on its connection. */
export interface ClientOptions {
  /** Gateway host; default "127.0.0.1". */
  host?: string;
  /** Gateway TCP port; default 3250. */
  port?: number;
  /** Time allowed to establish the TCP connection; default 5000 ms. */
  timeoutMs?: number;
  /** Interval of client heartbeats; 0 turns them (and dead-gateway detection) off. Default 10 s. */
  heartbeatMs?: number;
  /**
   * Time a request may wait for its reply before rejecting with TIMEOUT; 0 = no limit.
   * Default 10 s: a safety net, the gateway answers TIMEOUT itself after its module timeout.
   */
  requestTimeoutMs?: number;
  /** Folder of the .proto files describing the routes; default: the project's proto/. */
  protoDir?: string;
  /** Largest frame accepted from the gateway; a bigger one closes the connection. Default 16 MiB. */
  maxFrameBytes?: number;
  /**
   * Connect with TLS (the gateway has `tls` in its config): true verifies the gateway's
   * certificate against the system CAs; pass node:tls options for more, e.g. `{ ca }` for a
   * private CA or self-signed certificate, `servername`. Default: plain TCP.
   */
  tls?: boolean | TlsConnectionOptions;
}

/** {@link ClientOptions} with every default applied. */
export interface ResolvedClientOptions {
  host: string;
  port: number;
  timeoutMs: number;
  heartbeatMs: number;
  requestTimeoutMs: number;
  protoDir: string | undefined;
  maxFrameBytes: number;
  /** TLS options, or null for plain TCP. */
  tls: TlsConnectionOptions | null;
}

/** Defaults of {@link ClientOptions}, spelled once. */
export const CLIENT_DEFAULTS = {
  host: "127.0.0.1",
  port: 3250,
  timeoutMs: 5_000,
  heartbeatMs: 10_000,
  requestTimeoutMs: 10_000,
  maxFrameBytes: 16 * 1024 * 1024,
} as const;

/** Applies defaults and rejects values that cannot work, naming the option. */
export function resolveClientOptions(opts: ClientOptions = {}): ResolvedClientOptions {
  const r: ResolvedClientOptions = {
    host: opts.host ?? CLIENT_DEFAULTS.host,
    port: opts.port ?? CLIENT_DEFAULTS.port,
    timeoutMs: opts.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs,
    heartbeatMs: opts.heartbeatMs ?? CLIENT_DEFAULTS.heartbeatMs,
    requestTimeoutMs: opts.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs,
    protoDir: opts.protoDir,
    maxFrameBytes: opts.maxFrameBytes ?? CLIENT_DEFAULTS.maxFrameBytes,
    tls: opts.tls === true ? {} : opts.tls ? opts.tls : null,
  };
  if (!Number.isInteger(r.port) || r.port <= 0 || r.port > 65535) throw new RangeError(`port must be 1-65535, got ${r.port}`);
  for (const key of ["timeoutMs", "heartbeatMs", "requestTimeoutMs", "maxFrameBytes"] as const) {
    if (!Number.isFinite(r[key]) || r[key] < 0) throw new RangeError(`${key} must be a number >= 0, got ${r[key]}`);
  }
  return r;
}
