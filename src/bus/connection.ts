import { connect, type ConnectionOptions, type NatsConnection } from "nats";
import { checkNatsFastPaths } from "./nats-internals.js";

/** How a process reaches NATS; every field but `url` is optional. */
export interface NatsSettings {
  /** One or more server URLs, comma-separated, e.g. "nats://127.0.0.1:4222". */
  url: string;
  user?: string;
  pass?: string;
  token?: string;
  /** TLS to the NATS server: CA/cert/key file paths. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** The NATS server refused this process's credentials (or wants some and got none). */
export class NatsAuthError extends Error {
  override readonly name = "NatsAuthError";
  readonly url: string;

  constructor(url: string, options?: { cause?: unknown }) {
    const detail = options?.cause instanceof Error ? ` (${options.cause.message})` : "";
    super(
      `NATS at ${url} refused the credentials${detail}: set nats.user and nats.pass, or nats.token, in the cluster config to what the server expects`,
      options,
    );
    this.url = url;
  }
}

/** True for the errors nats.js reports when the server rejects a connection's credentials. */
export function isNatsAuthError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "AUTHORIZATION_VIOLATION" || code === "AUTHENTICATION_EXPIRED" || code === "AUTHENTICATION_TIMEOUT" || code === "ACCOUNT_EXPIRED";
}

/**
 * nats.js options for `settings`: servers, credentials and TLS, plus `behaviour` (reconnect
 * policy, timeouts). Every connection of the project is built here.
 */
export function natsOptions(settings: NatsSettings, name: string, behaviour: Partial<ConnectionOptions>): ConnectionOptions {
  const opts: ConnectionOptions = { servers: settings.url.split(",").map((s) => s.trim()), name, noAsyncTraces: true, ...behaviour };
  if (settings.user !== undefined) opts.user = settings.user;
  if (settings.pass !== undefined) opts.pass = settings.pass;
  if (settings.token !== undefined) opts.token = settings.token;
  if (settings.tls) {
    opts.tls = {};
    if (settings.tls.caFile) opts.tls.caFile = settings.tls.caFile;
    if (settings.tls.certFile) opts.tls.certFile = settings.tls.certFile;
    if (settings.tls.keyFile) opts.tls.keyFile = settings.tls.keyFile;
  }
  return opts;
}

/**
 * How long-running processes stay connected. Reconnect forever (a restarted nats-server must not
 * take processes down with it), trying every URL: nats.js moves on to the next server at once
 * and waits `reconnectTimeWait` only before retrying the same one. A node that dies with its
 * host sends no FIN: two unanswered pings 3 s apart declare it dead (6-9 s), where the nats.js
 * default (2 min × 2) would leave requests failing for minutes.
 */
export const RECONNECT_POLICY: Partial<ConnectionOptions> = {
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  reconnectJitter: 100,
  pingInterval: 1_000,
  maxPingOut: 2,
  waitOnFirstConnect: true,
  timeout: 1_000,
};

/**
 * Connects to NATS with the options every Switchyard process uses: RECONNECT_POLICY and no async
 * stack traces per request (they cost 25-35 % of request throughput). The first connection of a
 * process runs the header fast-path self-check (`warn` hears when a path is off).
 */
export async function connectBus(settings: NatsSettings, name: string, warn?: (message: string) => void): Promise<NatsConnection> {
  const opts = natsOptions(settings, name, RECONNECT_POLICY);
  try {
    const nc = await connect(opts);
    // once per process: proves the header fast paths (nats-internals.ts) or turns them off
    await checkNatsFastPaths(nc, warn);
    return nc;
  } catch (err) {
    // nats.js gives up on a server that rejects the credentials twice: say which setting to fix.
    if (isNatsAuthError(err)) throw new NatsAuthError(settings.url, { cause: err });
    throw err;
  }
}
