import { connect, type ConnectionOptions, type NatsConnection, type NatsError } from "nats";
import { NatsAuthError, isNatsAuthError, type NatsSettings } from "../bus/connection.js";
import { SwitchyardError } from "../bus/errors.js";
import { Header } from "../bus/headers.js";
import { masterSubject } from "../bus/subjects.js";

/** Thrown when a one-shot tool cannot reach NATS. */
export class NatsUnreachableError extends Error {
  override readonly name = "NatsUnreachableError";
  readonly url: string;

  constructor(url: string, options?: { cause?: unknown }) {
    super(`cannot reach NATS at ${url}: is the cluster running? start it with \`npm start\``, options);
    this.url = url;
  }
}

/**
 * Connects a one-shot tool (ctl): fails after `timeoutMs` instead of retrying forever the way
 * long-running processes do (connectBus).
 */
export async function connectOnce(settings: NatsSettings, name: string, timeoutMs = 2_000): Promise<NatsConnection> {
  const opts: ConnectionOptions = {
    servers: settings.url.split(",").map((s) => s.trim()),
    name,
    timeout: timeoutMs,
    reconnect: false,
    maxReconnectAttempts: 0,
    waitOnFirstConnect: false,
    noAsyncTraces: true,
  };
  if (settings.user !== undefined) opts.user = settings.user;
  if (settings.pass !== undefined) opts.pass = settings.pass;
  if (settings.token !== undefined) opts.token = settings.token;
  if (settings.tls) {
    opts.tls = {};
    if (settings.tls.caFile) opts.tls.caFile = settings.tls.caFile;
    if (settings.tls.certFile) opts.tls.certFile = settings.tls.certFile;
    if (settings.tls.keyFile) opts.tls.keyFile = settings.tls.keyFile;
  }
  try {
    return await connect(opts);
  } catch (err) {
    if (isNatsAuthError(err)) throw new NatsAuthError(settings.url, { cause: err });
    throw new NatsUnreachableError(settings.url, { cause: err });
  }
}

/**
 * Sends a ctl verb to the master. Resolves with its JSON answer, or null when no master is
 * running; rejects with the SwitchyardError the master answered with.
 */
export async function requestMaster<T>(nc: NatsConnection, verb: string, body?: unknown, timeoutMs = 2_000): Promise<T | null> {
  let msg;
  try {
    msg = await nc.request(masterSubject(verb), body === undefined ? undefined : JSON.stringify(body), { timeout: timeoutMs });
  } catch (err) {
    const code = (err as NatsError).code;
    if (code === "503") return null;
    if (code === "TIMEOUT") throw new SwitchyardError("TIMEOUT", `the master did not answer "${verb}" within ${timeoutMs} ms: it may be busy or hung; check its log`);
    throw err;
  }
  const errCode = msg.headers?.get(Header.errorCode);
  if (errCode) throw SwitchyardError.fromWire(Number(errCode), msg.headers?.get(Header.errorMessage) ?? "");
  return JSON.parse(new TextDecoder().decode(msg.data)) as T;
}
