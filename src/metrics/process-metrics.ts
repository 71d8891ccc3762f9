import { Counter, Registry, collectDefaultMetrics } from "prom-client";
import type { NatsConnection } from "nats";

/** Histogram buckets (seconds) of every latency metric: 0.5 ms … 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The metrics of one Switchyard process part (a gateway, a module instance, the master): its own
 * registry with prom-client's default process metrics (CPU, memory, event-loop lag, GC) and the
 * NATS reconnect counter, every series labelled with `module` and `instance`. One registry per
 * part, not prom-client's global one: a test process runs several parts side by side.
 */
export class ProcessMetrics {
  readonly registry: Registry;
  readonly module: string;
  readonly instance: string;
  private readonly natsReconnects: Counter;

  constructor(module: string, instance: string) {
    this.module = module;
    this.instance = instance;
    this.registry = new Registry();
    this.registry.setDefaultLabels({ module, instance });
    collectDefaultMetrics({ register: this.registry });
    this.natsReconnects = new Counter({
      name: "switchyard_nats_reconnects_total",
      help: "Times this process reconnected to NATS.",
      registers: [this.registry],
    });
  }

  /** Counts the reconnects of `nc` until it closes. */
  watchNats(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") this.natsReconnects.inc();
    })().catch(() => undefined);
  }
}
