import type { Logger } from "../log/logger.js";
import { LOG_CUT_MARGIN_MS } from "../redis/channel-log.js";
import type { OnlineTable } from "./online-table.js";

/** How often the sweeper pings the gateways that have sessions in the online table. */
export const SWEEP_INTERVAL_MS = 1_000;
/** The sweeper lease's TTL, renewed at every pass: another instance takes over this long after a holder dies. */
export const SWEEPER_LEASE_MS = 3_000;
/** Two "no responders" answers at least this far apart: the gateway is dead. */
export const DEAD_CONFIRM_MS = 1_000;
/**
 * A gateway whose command subject has a subscriber that never answered this sweeper's pings for
 * this long is released too (something subscribed under its id that is not a working gateway).
 * A gateway that answered once and then times out is slow (CPU-starved), never declared dead:
 * only "no responders" counts.
 */
export const SILENT_RELEASE_MS = 4_000;
/**
 * A gateway whose pings timed out this shortly before its first "no responders" was lingering:
 * nats-server still held its connection (a lost host, a hang), so what modules published to it
 * meanwhile went nowhere without a "no responders" (see lostProbeSubject).
 */
const LINGER_MS = 3 * SWEEP_INTERVAL_MS;
/**
 * Sessions of a gateway claimed this long before its process started belong to an earlier
 * process with the same id (restarted after a crash); the margin absorbs clock skew between hosts.
 */
const RESTART_MARGIN_MS = 1_000;

/**
 * One ping's outcome: the gateway's process start (ms), or why there was no answer. "stalled":
 * the ping timed out only because the pinging process itself was held up (its timer fired late),
 * which says nothing about the gateway: the pass ignores it.
 */
export type PingOutcome = { startedAt: number } | "no-responders" | "timeout" | "stalled";

/** A session of a dead gateway, as announced on sys.session.closed. */
export interface DeadSession {
  gatewayId: string;
  sid: number;
  uid: string;
}

/** What the sweeper does through NATS (the runtime wires these; tests may pass their own). */
export interface SweepActions {
  /** Pings `gw.<id>.cmd`. */
  ping(gatewayId: string): Promise<PingOutcome>;
  /**
   * Asks the live gateways to adopt the dead gateway's sessions claimed before `beforeMs`
   * (sys.gateway.adopt), with `cutMs` the time its channels' logs are read from (0: the
   * whole window); "adopted": a gateway took them (and announced them closed), "busy":
   * another claim is in progress, "none": no gateway adopts (none alive, or resume is off).
   */
  adopt(gatewayId: string, beforeMs: number, reason: string, cutMs: number): Promise<"adopted" | "busy" | "none">;
  /** Announces a released session on sys.session.closed. */
  announce(session: DeadSession, reason: string): void;
}

interface Watch {
  /** First "no responders" of the current streak, or null. */
  firstGone: number | null;
  /** First timeout while the gateway has never answered, or null. */
  firstSilent: number | null;
  /** Last timeout, or null. */
  lastTimeout: number | null;
  /** Start of the last pass in which the gateway answered, or null. */
  lastAnswered: number | null;
  /** The current "no responders" streak followed timeouts (see LINGER_MS). */
  lingered: boolean;
  answered: boolean;
}

/**
 * Keeps the online table honest when a gateway dies without saying goodbye (kill -9, host lost).
 * One instance of the cluster sweeps: the one holding the lease `sy:{online}:sweeper`. Every
 * {@link SWEEP_INTERVAL_MS} it pings each gateway that has sessions in the table on its command
 * subject. Two "no responders" answers {@link DEAD_CONFIRM_MS} apart mean dead: a live gateway
 * adopts the sessions (they become away sessions there, their pushes kept for a resume, and it
 * announces them closed once); when no gateway adopts, the sweeper releases them from the table
 * itself (release-if-owner) and announces them. Sessions claimed before a gateway's current
 * process started (a restart under the same id) go the same way.
 */
export class GatewaySweeper {
  private readonly watches = new Map<string, Watch>();
  private running = false;

  constructor(
    private readonly owner: string,
    private readonly table: () => OnlineTable,
    private readonly actions: SweepActions,
    private readonly log: Logger,
    /** How long a lingering dead gateway stays marked as having lost pushes (OnlineTable.markLost). */
    private readonly lostTtlMs = 130_000,
  ) {}

  /** One pass (skipped while the previous one runs); false when another instance holds the lease. */
  async sweep(now = Date.now()): Promise<boolean> {
    if (this.running) return true;
    this.running = true;
    try {
      const table = this.table();
      if (!(await table.holdSweeperLease(this.owner, SWEEPER_LEASE_MS))) {
        this.watches.clear();
        return false;
      }
      const gateways = await table.gatewaysWithSessions();
      await Promise.all(gateways.map((gw) => this.check(table, gw, now)));
      for (const gw of this.watches.keys()) if (!gateways.includes(gw)) this.watches.delete(gw);
      return true;
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "gateway sweep failed; next pass retries");
      return true;
    } finally {
      this.running = false;
    }
  }

  private async check(table: OnlineTable, gw: string, now: number): Promise<void> {
    let w = this.watches.get(gw);
    if (w === undefined) {
      w = { firstGone: null, firstSilent: null, lastTimeout: null, lastAnswered: null, lingered: false, answered: false };
      this.watches.set(gw, w);
    }
    const outcome = await this.actions.ping(gw);
    if (outcome === "stalled") return;
    if (typeof outcome === "object") {
      w.firstGone = null;
      w.firstSilent = null;
      w.answered = true;
      w.lastAnswered = now;
      const before = outcome.startedAt - RESTART_MARGIN_MS;
      if ((await table.sessionsOf(gw, before)).length > 0) await this.dead(table, gw, before, `gateway ${gw} restarted: the session belonged to its previous process`);
      return;
    }
    if (outcome === "timeout") {
      w.firstGone = null;
      w.lastTimeout = now;
      if (w.answered) return;
      w.firstSilent ??= now;
      if (now - w.firstSilent >= SILENT_RELEASE_MS) await this.dead(table, gw, Number.POSITIVE_INFINITY, `gateway ${gw} never answered for ${now - w.firstSilent} ms`);
      return;
    }
    w.firstSilent = null;
    if (w.firstGone === null) {
      w.firstGone = now;
      w.lingered = w.lastTimeout !== null && now - w.lastTimeout <= LINGER_MS;
    }
    if (now - w.firstGone >= DEAD_CONFIRM_MS) await this.dead(table, gw, Number.POSITIVE_INFINITY, `gateway ${gw} is gone: no responders for ${now - w.firstGone} ms`);
  }

  private async dead(table: OnlineTable, gw: string, beforeMs: number, reason: string): Promise<void> {
    // Pushes by session sent while nats-server still held the dead connection got no "no
    // responders": mark them lost, so the resumes answer RESYNC rather than OK.
    const w = this.watches.get(gw);
    if (w?.lingered === true) await table.markLost(gw, this.lostTtlMs);
    // What its channels published before it last answered, it delivered (or stored for an away
    // session). A restarted gateway's answers are its new process's: its predecessor's end is not known.
    const cutMs = Number.isFinite(beforeMs) || w?.lastAnswered == null ? 0 : w.lastAnswered - LOG_CUT_MARGIN_MS;
    const adopted = await this.actions.adopt(gw, Number.isFinite(beforeMs) ? beforeMs : 0, reason, cutMs);
    if (adopted === "busy") return;
    if (adopted === "none") {
      for (const s of await table.sessionsOf(gw, beforeMs)) {
        if (await table.release(s.uid, s)) {
          this.log.info({ gatewayId: gw, sid: s.sid, uid: s.uid }, "orphaned session released");
          this.actions.announce({ gatewayId: gw, sid: s.sid, uid: s.uid }, reason);
        }
      }
    } else {
      this.log.info({ gatewayId: gw, reason }, "dead gateway's sessions adopted");
    }
    if (Number.isFinite(beforeMs)) return;
    await table.forgetGatewayIfEmpty(gw);
    this.watches.delete(gw);
  }
}
