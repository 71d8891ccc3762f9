import type { NatsConnection, NatsError } from "nats";
import { SwitchyardError } from "../protocol/errors.js";
import { Header } from "../bus/headers.js";

/**
 * JSON request to a ctl-style endpoint (master, host agent): resolves with the JSON answer, or
 * null when nothing listens; rejects with the SwitchyardError it answered with, or TIMEOUT.
 */
export async function requestJson<T>(nc: NatsConnection, subject: string, body: unknown, timeoutMs: number, who = subject): Promise<T | null> {
  let msg;
  try {
    msg = await nc.request(subject, body === undefined ? undefined : JSON.stringify(body), { timeout: timeoutMs });
  } catch (err) {
    const code = (err as NatsError).code;
    if (code === "503") return null;
    if (code === "TIMEOUT") throw new SwitchyardError("TIMEOUT", `${who} did not answer within ${timeoutMs} ms: it may be busy or hung; check its log`);
    throw err;
  }
  const errCode = msg.headers?.get(Header.errorCode);
  if (errCode) throw SwitchyardError.fromWire(Number(errCode), msg.headers?.get(Header.errorMessage) ?? "");
  return JSON.parse(new TextDecoder().decode(msg.data)) as T;
}
