import type { NatsConnection } from "nats";
import { listInstances } from "./discovery.js";

/** Where a client should connect: one gateway's TCP address and WebSocket URL. */
export interface GatewayChoice {
  id: string;
  tcp: { host: string; port: number; tls: boolean };
  /** `ws://host:wsPort/ws` (wss with TLS), or null when the gateway has no WebSocket port. */
  ws: string | null;
}

/** How a directory reads the cluster. */
export interface GatewayDirectoryOptions {
  /** How often the live load is read again; default 2000 ms. */
  refreshMs?: number;
  /** Told when a refresh fails (the previous loads are kept). */
  onRefreshError?: (err: Error) => void;
}

const DEFAULT_REFRESH_MS = 2_000;
const LIST_WAIT_MS = 300;

/** One ready gateway as the last refresh saw it. */
interface Candidate {
  choice: GatewayChoice;
  sessions: number;
  maxConnections: number;
}

/**
 * Knows the ready gateways, their client addresses and live session counts (all announced
 * through the NATS services API, read in the background), so the least-loaded gateway is
 * answered without a lookup on the request path. Used by login (its reply names a gateway), by
 * the gate and by a full or draining gateway's redirect.
 */
export class GatewayDirectory {
  private readonly nc: NatsConnection;
  private readonly options: GatewayDirectoryOptions;
  private candidates: Candidate[] = [];
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(nc: NatsConnection, options: GatewayDirectoryOptions = {}) {
    this.nc = nc;
    this.options = options;
  }

  /** Reads the load now, then every `refreshMs`. */
  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? DEFAULT_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * The gateway with the fewest sessions among those that answered ready and are not full,
   * other than `exceptId`; null if none. Ties go to the lower id, so answers are stable.
   */
  leastLoaded(exceptId?: string): GatewayChoice | null {
    let best: Candidate | null = null;
    for (const c of this.candidates) {
      if (c.choice.id === exceptId || c.sessions >= c.maxConnections) continue;
      if (best === null || c.sessions < best.sessions) best = c;
    }
    return best === null ? null : best.choice;
  }

  /**
   * Reads the live load once (the same promise while a read is under way), collecting the
   * gateways' answers for `waitMs`.
   */
  refresh(waitMs = LIST_WAIT_MS): Promise<void> {
    this.refreshing ??= this.read(waitMs).finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /**
   * Reads again, waiting longer for answers each time, until a gateway other than `exceptId`
   * is ready (true) or `timeoutMs` passed (false). A draining gateway needs one to send its
   * sessions to; on a busy host a replacement's answer can take longer than one short read.
   */
  async awaitOther(exceptId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let waitMs = LIST_WAIT_MS; this.leastLoaded(exceptId) === null; waitMs = Math.min(waitMs * 2, 2_000)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.refresh(Math.min(waitMs, left));
    }
    return true;
  }

  private async read(waitMs: number): Promise<void> {
    try {
      const all = await listInstances(this.nc, waitMs);
      const next: Candidate[] = [];
      for (const i of all) {
        if (i.kind !== "gateway" || i.state !== "ready" || i.clients === undefined) continue;
        const tcp = splitHostPort(i.clients.tcp);
        if (tcp === null) continue;
        next.push({
          choice: { id: i.instance, tcp: { ...tcp, tls: i.clients.tls }, ws: i.clients.ws ?? null },
          sessions: i.sessions ?? 0,
          maxConnections: i.clients.maxConnections,
        });
      }
      next.sort((a, b) => a.choice.id.localeCompare(b.choice.id));
      this.candidates = next;
    } catch (err) {
      this.options.onRefreshError?.(err as Error);
    }
  }
}

/** "host:port" or "[v6]:port" → parts; null when malformed. */
function splitHostPort(address: string): { host: string; port: number } | null {
  const i = address.lastIndexOf(":");
  if (i <= 0) return null;
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  let host = address.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host, port };
}
