import { type Msg, type NatsConnection, type Subscription } from "nats";
import { SwitchyardError } from "../protocol/errors.js";
import { respondWithError } from "../bus/error-headers.js";
import { masterSubject } from "../bus/subjects.js";
import type { Logger } from "../log/logger.js";

/**
 * Answers one ctl verb. `body` is the request's JSON (undefined when empty); the result is
 * sent back as JSON. Throw a SwitchyardError to answer with its code.
 */
export type CtlHandler = (body: unknown) => unknown;

/** The master's ctl endpoint; `close` stops answering. */
export interface CtlServer {
  close(): void;
}

/**
 * Answers `sys.master.<verb>` requests with the handler registered for `verb`: JSON in, JSON
 * out, errors as `sy-err`/`sy-msg` headers like every other reply in the cluster. New verbs
 * are one more entry in `handlers`. A host agent answers `sys.agent.<hostId>.<verb>` the same
 * way (`prefix`).
 */
export function startCtlServer(nc: NatsConnection, handlers: Readonly<Record<string, CtlHandler>>, log: Logger, prefix = masterSubject("")): CtlServer {
  const sub: Subscription = nc.subscribe(`${prefix}*`, {
    callback: (_err, msg) => void answer(msg),
  });

  async function answer(msg: Msg): Promise<void> {
    const verb = msg.subject.slice(prefix.length);
    const handler = Object.hasOwn(handlers, verb) ? handlers[verb] : undefined;
    try {
      if (!handler) {
        throw new SwitchyardError("NOT_FOUND", `unknown ctl verb "${verb}": known verbs are ${Object.keys(handlers).join(", ")}`);
      }
      let body: unknown;
      if (msg.data.length > 0) {
        try {
          body = JSON.parse(new TextDecoder().decode(msg.data));
        } catch {
          throw new SwitchyardError("BAD_REQUEST", `ctl ${verb}: the request body is not JSON`);
        }
      }
      const result: unknown = await handler(body);
      if (msg.reply) msg.respond(JSON.stringify(result ?? { ok: true }));
    } catch (err) {
      const e = SwitchyardError.from(err);
      if (e.code === "INTERNAL") log.error({ err, verb }, "ctl request failed");
      respondWithError(msg, e, e.code === "INTERNAL" && err instanceof Error ? err.message : e.message);
    }
  }

  return {
    close() {
      sub.unsubscribe();
    },
  };
}
