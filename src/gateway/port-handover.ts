import type { Server } from "node:net";
import type { Server as HttpServer } from "node:http";
import type { NatsConnection, Subscription } from "nats";

/**
 * Port handover between an old gateway and its replacement (`ctl rollout gateway`): the new one
 * asks the old one to close its listeners, then binds the same ports, retrying every few ms
 * while they are still taken. Connections already accepted by the old one stay with it.
 */

/** Subject on which a gateway closes its listeners when asked (answered once they are closed). */
export function releasePortsSubject(gatewayId: string): string {
  return `sys.instance.${gatewayId}.release-ports`;
}

/**
 * Subject on which a gateway binds the ports it released again (answered once bound, or with
 * the reason it could not): its replacement failed before serving them (see rolloutGateways).
 */
export function reclaimPortsSubject(gatewayId: string): string {
  return `sys.instance.${gatewayId}.reclaim-ports`;
}

/** How often a bind of a taken port is tried again. */
export const PORT_RETRY_MS = 5;

/** How long the replacement waits for the old gateway to answer the release. */
const RELEASE_ANSWER_MS = 5_000;

/** A listener that can be bound once (net.Server or http.Server). */
type Listener = Server | HttpServer;

/** Binds `server` to host:port once; rejects with the bind error (EADDRINUSE when taken). */
export function listenOnce(server: Listener, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/**
 * Binds `server` to host:port, trying again every `retryMs` while the port is taken
 * (EADDRINUSE), for up to `timeoutMs`; any other error, or the timeout, rejects with a message
 * that names the port.
 */
export async function listenWhenFree(server: Listener, port: number, host: string, timeoutMs: number, retryMs = PORT_RETRY_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let tries = 1; ; tries++) {
    try {
      await listenOnce(server, port, host);
      return tries;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE") throw err;
      if (Date.now() >= deadline) {
        throw new Error(`port ${host}:${port} still taken after ${timeoutMs} ms: stop the process holding it (the gateway being replaced did not release it)`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}

/**
 * Asks gateway `oldId` to close its listeners; resolves true once it answered, false when it
 * did not (gone already: its ports are free, or will be when it exits).
 */
export async function requestPortRelease(nc: NatsConnection, oldId: string): Promise<boolean> {
  try {
    await nc.request(releasePortsSubject(oldId), undefined, { timeout: RELEASE_ANSWER_MS });
    return true;
  } catch {
    return false;
  }
}

/**
 * Asks gateway `oldId` to listen again on the ports it released; resolves "" once it does, else
 * the reason (its answer, or that it did not answer within `timeoutMs`).
 */
export async function requestPortReclaim(nc: NatsConnection, oldId: string, timeoutMs: number): Promise<string> {
  try {
    const reply = await nc.request(reclaimPortsSubject(oldId), undefined, { timeout: timeoutMs });
    return new TextDecoder().decode(reply.data);
  } catch (err) {
    return `${oldId} did not answer within ${timeoutMs} ms (${(err as Error).message})`;
  }
}

/**
 * Answers reclaim requests for gateway `id`: `reclaim` binds the released ports again; the
 * answer is empty once they are bound, else the reason.
 */
export function serveReclaimPorts(nc: NatsConnection, id: string, reclaim: () => Promise<void>): Subscription {
  return nc.subscribe(reclaimPortsSubject(id), {
    callback: (_err, msg) => {
      reclaim().then(
        () => msg.reply && msg.respond(),
        (err: unknown) => msg.reply && msg.respond(new TextEncoder().encode((err as Error).message)),
      );
    },
  });
}

/**
 * Answers release requests for gateway `id`: `close` stops the listeners (the ports are free
 * once it returns: a closed listening socket frees its port at once; accepted connections stay).
 */
export function serveReleasePorts(nc: NatsConnection, id: string, close: () => void): Subscription {
  return nc.subscribe(releasePortsSubject(id), {
    callback: (_err, msg) => {
      close();
      if (msg.reply) msg.respond();
    },
  });
}
