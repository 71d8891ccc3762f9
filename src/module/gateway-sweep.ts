import { RequestStrategy, type NatsConnection } from "nats";
import { listInstances } from "../bus/discovery.js";
import type { Logger } from "../log/logger.js";
import type { OnlineTable } from "./online-table.js";

/** How often the sweep looks at the gateways. */
export const SWEEP_INTERVAL_MS = 1_500;
/**
 * A gateway missing from every listing for this long, which then does not answer a direct
 * status request either, is dead: its sessions are released.
 */
export const GATEWAY_LAPSE_MS = 4_000;
/** How long one listing waits for the services API answers. */
const LISTING_WAIT_MS = 750;
/** How long the direct status request to a gateway presumed dead waits. */
const CONFIRM_WAIT_MS = 1_000;
/**
 * Sessions of a gateway claimed this long before its process started belong to an earlier
 * process with the same id (restarted after a crash); the margin absorbs clock skew between hosts.
 */
const RESTART_MARGIN_MS = 1_000;

/** The services API name gateways announce themselves under (see announceInstance). */
const GATEWAY_SERVICE = "sy-gateway";

/** What the sweep does with a session it found orphaned (already removed from the table). */
export type OrphanSink = (session: { gatewayId: string; sid: number; uid: string }, reason: string) => void;

/**
 * Keeps the online table honest when a gateway dies without saying goodbye (kill -9, host lost):
 * a gateway that has sessions in the table but has not answered the services API for
 * {@link GATEWAY_LAPSE_MS} loses them, and so do sessions claimed before a gateway's current
 * process started. Each session is removed with release-if-owner, so of all the instances that
 * run a sweep exactly one removes it, and only that one reports it to `orphaned` (which
 * publishes the same sys.session.closed a normal disconnect gives).
 */
export class GatewaySweep {
  /** Gateway id → when it was last seen answering (or first seen missing). */
  private readonly lastSeen = new Map<string, number>();
  private running = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly table: () => OnlineTable,
    private readonly orphaned: OrphanSink,
    private readonly log: Logger,
  ) {}

  /** One pass; skipped while the previous one still runs. */
  async sweep(now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const table = this.table();
      const [listed, indexed] = await Promise.all([listInstances(this.nc, LISTING_WAIT_MS), table.gatewaysWithSessions()]);
      const startedAt = new Map<string, number>();
      for (const i of listed) if (i.kind === "gateway") startedAt.set(i.instance, i.startedAt);
      for (const gw of indexed) {
        const started = startedAt.get(gw);
        if (started !== undefined) {
          this.lastSeen.set(gw, now);
          await this.release(table, gw, started - RESTART_MARGIN_MS, `gateway ${gw} restarted: the session belonged to its previous process`);
          continue;
        }
        const seen = this.lastSeen.get(gw);
        if (seen === undefined) this.lastSeen.set(gw, now);
        else if (now - seen >= GATEWAY_LAPSE_MS) {
          // A gateway too busy to answer listings in time is slow, not dead: ask it once directly.
          if (await this.answers(gw)) {
            this.lastSeen.set(gw, now);
            continue;
          }
          await this.release(table, gw, Number.POSITIVE_INFINITY, `gateway ${gw} stopped answering for ${now - seen} ms`);
          await table.forgetGatewayIfEmpty(gw);
          this.lastSeen.delete(gw);
        }
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "gateway sweep failed; next pass retries");
    } finally {
      this.running = false;
    }
  }

  /** Pings the gateways' service ($SRV.PING, which every role may use) and looks for this one. */
  private async answers(gatewayId: string): Promise<boolean> {
    try {
      const pongs = await this.nc.services.client({ strategy: RequestStrategy.Timer, maxWait: CONFIRM_WAIT_MS }).ping(GATEWAY_SERVICE);
      for await (const p of pongs) if (p.metadata?.instance === gatewayId) return true;
    } catch {
      // no responders at all: no gateway answers
    }
    return false;
  }

  private async release(table: OnlineTable, gatewayId: string, beforeMs: number, reason: string): Promise<void> {
    const sessions = await table.sessionsOf(gatewayId, beforeMs);
    for (const s of sessions) {
      if (await table.release(s.uid, s)) {
        this.log.info({ gatewayId, sid: s.sid, uid: s.uid }, "orphaned session released");
        this.orphaned({ gatewayId, sid: s.sid, uid: s.uid }, reason);
      }
    }
  }
}
