import type { GatewaySettings } from "../config/cluster-config.js";
import type { Logger } from "../log/logger.js";
import type { SessionTable } from "./session-table.js";
import type { Session } from "./session.js";

/** How often a drain looks again at what it waits for. */
const POLL_MS = 10;

/**
 * The waits of a graceful gateway drain, in order: stop reading the clients, wait until every
 * request already read is answered (up to requestTimeoutMs), and, once the sessions were sent
 * away (KICK MOVED), wait until each was taken over by a resume elsewhere (up to
 * handoverTimeoutMs).
 */
export class GatewayDrain {
  constructor(
    private readonly sessions: SessionTable<Session>,
    private readonly settings: Pick<GatewaySettings, "requestTimeoutMs" | "handoverTimeoutMs">,
    private readonly log: Logger,
  ) {}

  /** Pauses every session's input: requests not read yet are the client's to resend elsewhere. */
  stopReading(): void {
    for (const s of this.sessions.values()) s.pauseReading();
  }

  /** Requests read and not answered yet (queued in lanes included), plus `pending` ones. */
  unanswered(pending: number): number {
    let n = pending;
    for (const s of this.sessions.values()) n += s.inflight;
    return n;
  }

  /** Resolves once every request read was answered, or requestTimeoutMs (+100 ms) passed. */
  async answered(pending: () => number): Promise<void> {
    const deadline = Date.now() + this.settings.requestTimeoutMs + 100;
    while (this.unanswered(pending()) > 0 && Date.now() < deadline) await sleep(POLL_MS);
    const left = this.unanswered(pending());
    if (left > 0) this.log.warn({ left }, "drain: requests still unanswered after requestTimeoutMs");
  }

  /** Sessions still away (sent elsewhere, not taken over yet). */
  away(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.away !== null) n++;
    return n;
  }

  /** Resolves once no session is away any more, or handoverTimeoutMs passed. */
  async handedOver(): Promise<void> {
    const began = Date.now();
    const deadline = began + this.settings.handoverTimeoutMs;
    const moved = this.away();
    while (this.away() > 0 && Date.now() < deadline) await sleep(POLL_MS);
    this.log.info({ moved, notTakenOver: this.away(), waitedMs: Date.now() - began }, "drain: sessions moved");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
