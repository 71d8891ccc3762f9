import { Counter, Gauge, Histogram } from "prom-client";
import { codeName } from "../bus/errors.js";
import { LATENCY_BUCKETS, type ProcessMetrics } from "./process-metrics.js";

/** The prom-client children of one handler, made when the instance starts. */
export interface MethodMetrics {
  readonly requests: Counter.Internal;
  readonly duration: Histogram.Internal<string>;
  readonly errors: Map<number, Counter.Internal>;
  readonly route: string;
}

/**
 * A module instance's metrics: requests, errors and handler time per route (only the module's
 * own routes: the label set is bounded by its proto), requests running, Redis errors.
 */
export class ModuleMetrics {
  private readonly requests: Counter<"route">;
  private readonly errors: Counter<"route" | "code">;
  private readonly duration: Histogram<"route">;
  private readonly redisErrors: Counter;

  constructor(pm: ProcessMetrics, inflight: () => number) {
    const registers = [pm.registry];
    this.requests = new Counter({ name: "switchyard_module_requests_total", help: "Requests and notifies handled, per route (answered or failed).", labelNames: ["route"], registers });
    this.errors = new Counter({ name: "switchyard_module_errors_total", help: "Requests answered with an error, per route and wire code.", labelNames: ["route", "code"], registers });
    this.duration = new Histogram({
      name: "switchyard_module_handler_duration_seconds",
      help: "Time from receiving a request to sending its answer (decode, handler, encode), per route.",
      labelNames: ["route"],
      buckets: [...LATENCY_BUCKETS],
      registers,
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

  /** The children of one route of this module. */
  forRoute(route: string): MethodMetrics {
    return { route, requests: this.requests.labels(route), duration: this.duration.labels(route), errors: new Map() };
  }

  /** Counts one error answer. */
  error(mm: MethodMetrics, code: number): void {
    let child = mm.errors.get(code);
    if (child === undefined) {
      child = this.errors.labels(mm.route, codeName(code));
      mm.errors.set(code, child);
    }
    child.inc();
  }

  /** Counts one error event of the Redis connection. */
  redisError(): void {
    this.redisErrors.inc();
  }
}
