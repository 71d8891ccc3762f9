import { connect, type NatsConnection } from "nats";
import { NatsAuthError, isNatsAuthError, natsOptions, type NatsSettings } from "../bus/connection.js";
import { masterSubject } from "../bus/subjects.js";
import { requestJson } from "./json-request.js";

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
 * Connects a one-shot tool (ctl): fails after `timeoutMs` per server instead of retrying forever
 * the way long-running processes do (connectBus). Tries the servers of the URL list one at a time:
 * nats.js given them all spends the whole timeout on a hung node and gives up without trying the
 * others.
 */
export async function connectOnce(settings: NatsSettings, name: string, timeoutMs = 2_000): Promise<NatsConnection> {
  const opts = natsOptions(settings, name, { timeout: timeoutMs, reconnect: false, maxReconnectAttempts: 0, waitOnFirstConnect: false });
  const servers = Array.isArray(opts.servers) ? opts.servers : [opts.servers ?? settings.url];
  let lastError: unknown;
  for (const server of servers) {
    try {
      return await connect({ ...opts, servers: [server], ignoreClusterUpdates: true });
    } catch (err) {
      if (isNatsAuthError(err)) throw new NatsAuthError(settings.url, { cause: err });
      lastError = err;
    }
  }
  throw new NatsUnreachableError(settings.url, { cause: lastError });
}

/**
 * Sends a ctl verb to the master. Resolves with its JSON answer, or null when no master is
 * running; rejects with the SwitchyardError the master answered with.
 */
export function requestMaster<T>(nc: NatsConnection, verb: string, body?: unknown, timeoutMs = 2_000): Promise<T | null> {
  return requestJson<T>(nc, masterSubject(verb), body, timeoutMs, `the master ("${verb}")`);
}
