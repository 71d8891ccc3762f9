import { headers as natsHeaders, type Msg, type MsgHdrs } from "nats";
import { SwitchyardError } from "../protocol/errors.js";
import { Header } from "./headers.js";

const EMPTY = new Uint8Array(0);

/** A failed reply as it crosses NATS: the wire code number and the message, in headers. */
export interface ErrorReply {
  readonly code: number;
  readonly message: string;
}

/** Headers of a failed reply: `sy-err` (wire code number) and `sy-msg` (message). */
export function errorHeaders(err: SwitchyardError, message: string = err.message): MsgHdrs {
  const h = natsHeaders();
  h.set(Header.errorCode, String(err.codeNumber));
  h.set(Header.errorMessage, message);
  return h;
}

/** Answers `msg` with `err` (empty body, error headers); a message without a reply subject is left alone. */
export function respondWithError(msg: Msg, err: SwitchyardError, message: string = err.message): void {
  if (!msg.reply) return;
  msg.respond(EMPTY, { headers: errorHeaders(err, message) });
}

/** The error a reply carries in its headers, or null for a successful reply. */
export function readErrorReply(h: MsgHdrs | undefined): ErrorReply | null {
  if (h === undefined) return null;
  const code = h.get(Header.errorCode);
  if (!code) return null;
  return { code: Number(code), message: h.get(Header.errorMessage) };
}

/** The error a reply carries, rebuilt as a SwitchyardError (default message when it has none), or null. */
export function errorOfReply(h: MsgHdrs | undefined): SwitchyardError | null {
  const reply = readErrorReply(h);
  return reply === null ? null : SwitchyardError.fromWire(reply.code, reply.message);
}
