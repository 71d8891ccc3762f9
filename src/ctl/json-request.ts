import type { NatsConnection, NatsError } from "nats";
import { SwitchyardError } from "../protocol/errors.js";
import { errorOfReply } from "../bus/error-headers.js";

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
  const failure = errorOfReply(msg.headers);
  if (failure !== null) throw failure;
  return JSON.parse(new TextDecoder().decode(msg.data)) as T;
}
