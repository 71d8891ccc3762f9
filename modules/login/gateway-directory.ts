import { listInstances } from "../../src/bus/discovery.js";
import type { ModuleRuntime } from "../../src/module/index.js";
import type { login } from "../../src/generated/proto.js";

const REFRESH_MS = 2_000;

/**
 * Knows the gateways' client addresses (from the cluster config) and their live session counts
 * (from the services API), refreshed in the background, so a login reply can name the
 * least-loaded gateway without a lookup on the request path.
 */
export class GatewayDirectory {
  private loads = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly rt: ModuleRuntime) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The configured gateway with the fewest sessions among those answering; null if none. */
  leastLoaded(): login.GatewayAddress | null {
    let best: login.GatewayAddress | null = null;
    let bestLoad = Infinity;
    for (const g of this.rt.config.gateways) {
      const load = this.loads.get(g.id);
      if (load === undefined || load >= bestLoad) continue;
      best = { id: g.id, host: g.host, port: g.port };
      bestLoad = load;
    }
    return best;
  }

  private async refresh(): Promise<void> {
    try {
      const all = await listInstances(this.rt.nc, 300);
      const next = new Map<string, number>();
      for (const i of all) {
        if (i.kind === "gateway" && i.state === "ready") next.set(i.instance, i.sessions ?? 0);
      }
      this.loads = next;
    } catch (err) {
      this.rt.log.debug({ err: (err as Error).message }, "gateway directory refresh failed");
    }
  }
}
