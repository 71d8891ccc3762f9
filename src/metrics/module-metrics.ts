import { Counter, Gauge } from "prom-client";
import { codeName } from "../protocol/errors.js";
import { LatencyHistogramFamily, type LatencySeries } from "./latency-histogram.js";
import { LATENCY_BUCKETS, type ProcessMetrics } from "./process-metrics.js";

/** What the host counts for one handler, in plain numbers (read by prom-client at scrape time). */
export interface MethodMetrics {
  requests: number;
  readonly duration: LatencySeries;
  /** Errors by wire code. */
  readonly errors: Map<number, number>;
  readonly route: string;
}

/**
 * A module instance's metrics: requests, errors and handler time per route (only the module's
 * own routes: the label set is bounded by its proto), requests running, Redis errors.
 */
export class ModuleMetrics {
  private readonly methods: MethodMetrics[] = [];
  private readonly duration: LatencyHistogramFamily;
  private readonly redisErrors: Counter;

  constructor(pm: ProcessMetrics, inflight: () => number) {
    const registers = [pm.registry];
    const methods = this.methods;
    new Counter({
      name: "switchyard_module_requests_total",
      help: "Requests and notifies handled, per route (answered or failed).",
      labelNames: ["route"],
      registers,
      collect() {
        this.reset();
        // every route of the module from the start, 0 included: rate() works from the first scrape
        for (const mm of methods) this.inc({ route: mm.route }, mm.requests);
      },
    });
    new Counter({
      name: "switchyard_module_errors_total",
      help: "Requests answered with an error, per route and wire code.",
      labelNames: ["route", "code"],
      registers,
      collect() {
        this.reset();
        for (const mm of methods) for (const [code, n] of mm.errors) this.inc({ route: mm.route, code: codeName(code) }, n);
      },
    });
    this.duration = new LatencyHistogramFamily({
      name: "switchyard_module_handler_duration_seconds",
      help: "Time from receiving a request to sending its answer (decode, handler, encode), per route.",
      label: "route",
      buckets: LATENCY_BUCKETS,
      registry: pm.registry,
    });
    this.redisErrors = new Counter({ name: "switchyard_redis_errors_total", help: "Errors reported by this instance's Redis connection.", registers });
    new Gauge({
      name: "switchyard_module_inflight",
      help: "Asynchronous handlers running now.",
      registers,
      collect() {
        this.set(inflight());
      },
    });
  }

  /** The counters of one route of this module. */
  forRoute(route: string): MethodMetrics {
    const mm: MethodMetrics = { route, requests: 0, duration: this.duration.seriesFor(route), errors: new Map() };
    this.methods.push(mm);
    return mm;
  }

  /** Counts one error answer. */
  error(mm: MethodMetrics, code: number): void {
    mm.errors.set(code, (mm.errors.get(code) ?? 0) + 1);
  }

  /** Counts one error event of the Redis connection. */
  redisError(): void {
    this.redisErrors.inc();
  }
}
