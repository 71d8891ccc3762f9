import { Counter, Gauge } from "prom-client";
import { codeName } from "../protocol/errors.js";
import { LatencyHistogramFamily, type LatencySeries } from "./latency-histogram.js";
import { LATENCY_BUCKETS, type ProcessMetrics } from "./process-metrics.js";

/** Why a gateway refused a client message or connection without forwarding it (`reason` label). */
export const RefusalReason = {
  /** The gateway is draining. */
  draining: "draining",
  /** The route is not "<module>.<Method>". */
  badRoute: "bad_route",
  /** A REQUEST without an id. */
  badRequest: "bad_request",
  /** A private route before login. */
  unauthenticated: "unauthenticated",
  /** maxInFlightPerSession reached. */
  inflightLimit: "inflight_limit",
  /** The connection's frame rate limit. */
  rateLimited: "rate_limited",
  /** maxConnections reached (connection refused). */
  gatewayFull: "gateway_full",
  /** maxConnectionsPerAddress reached (connection refused). */
  perAddress: "per_address",
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

/** Route label of every route the proto/ files do not declare: the label set stays bounded. */
export const OTHER_ROUTE = "other";

/**
 * What the gateway counts for one route, in plain numbers (made once per route; no label object
 * or prom-client call per message): prom-client reads them at scrape time.
 */
export interface RouteMetrics {
  requests: number;
  notifies: number;
  readonly duration: LatencySeries;
  /** Errors by wire code. */
  readonly errors: Map<number, number>;
  readonly route: string;
}

/** Live figures read at scrape time (nothing is counted per message for them). */
export interface GatewayGauges {
  /** Connections held, per transport ("tcp", "ws"). */
  connections(): ReadonlyMap<string, number>;
  /** Sessions bound to a user, per transport. */
  boundSessions(): ReadonlyMap<string, number>;
  inflight(): number;
}

/**
 * A gateway's metrics: requests, notifies, errors and end-to-end latency per route, refusals per
 * reason, kicks per code, connections per transport, in flight.
 */
export class GatewayMetrics {
  private readonly duration: LatencyHistogramFamily;
  private readonly refusals: Counter<"reason">;
  private readonly kicks: Counter<"code">;
  private readonly connectionsOpened: Counter<"transport">;
  private readonly routes = new Map<string, RouteMetrics>();
  private readonly refusalChildren = new Map<string, Counter.Internal>();
  private readonly isKnownRoute: (route: string) => boolean;

  constructor(pm: ProcessMetrics, isKnownRoute: (route: string) => boolean, gauges: GatewayGauges) {
    const registers = [pm.registry];
    this.isKnownRoute = isKnownRoute;
    const routes = this.routes;
    new Counter({
      name: "switchyard_gateway_requests_total",
      help: "Client REQUESTs forwarded to a module, per route.",
      labelNames: ["route"],
      registers,
      collect() {
        this.reset();
        for (const rm of new Set(routes.values())) if (rm.requests > 0) this.inc({ route: rm.route }, rm.requests);
      },
    });
    new Counter({
      name: "switchyard_gateway_notifies_total",
      help: "Client NOTIFYs forwarded to a module, per route.",
      labelNames: ["route"],
      registers,
      collect() {
        this.reset();
        for (const rm of new Set(routes.values())) if (rm.notifies > 0) this.inc({ route: rm.route }, rm.notifies);
      },
    });
    new Counter({
      name: "switchyard_gateway_errors_total",
      help: "Forwarded requests and notifies answered with an ERROR (by the module, or TIMEOUT/UNAVAILABLE), per route and code.",
      labelNames: ["route", "code"],
      registers,
      collect() {
        this.reset();
        for (const rm of new Set(routes.values())) for (const [code, n] of rm.errors) this.inc({ route: rm.route, code: codeName(code) }, n);
      },
    });
    this.duration = new LatencyHistogramFamily({
      name: "switchyard_gateway_request_duration_seconds",
      help: "Time from forwarding a request or notify to a module until its answer (or timeout), per route.",
      label: "route",
      buckets: LATENCY_BUCKETS,
      registry: pm.registry,
    });
    this.refusals = new Counter({ name: "switchyard_gateway_refusals_total", help: "Client messages and connections refused by the gateway itself, per reason.", labelNames: ["reason"], registers });
    this.kicks = new Counter({ name: "switchyard_gateway_kicks_total", help: "Sessions closed with a KICK, per wire code.", labelNames: ["code"], registers });
    this.connectionsOpened = new Counter({ name: "switchyard_gateway_connections_opened_total", help: "Client connections accepted, per transport.", labelNames: ["transport"], registers });
    new Gauge({
      name: "switchyard_gateway_connections",
      help: "Client connections held now, per transport.",
      labelNames: ["transport"],
      registers,
      collect() {
        for (const [transport, n] of gauges.connections()) this.set({ transport }, n);
      },
    });
    new Gauge({
      name: "switchyard_gateway_sessions_bound",
      help: "Sessions bound to a user (logged in) now, per transport.",
      labelNames: ["transport"],
      registers,
      collect() {
        for (const [transport, n] of gauges.boundSessions()) this.set({ transport }, n);
      },
    });
    new Gauge({
      name: "switchyard_gateway_inflight",
      help: "Requests and notifies forwarded and waiting for their answer.",
      registers,
      collect() {
        this.set(gauges.inflight());
      },
    });
  }

  /** The counters of `route` (routes proto/ does not declare share OTHER_ROUTE). */
  forRoute(route: string): RouteMetrics {
    let rm = this.routes.get(route);
    if (rm !== undefined) return rm;
    if (!this.isKnownRoute(route)) {
      rm = this.routes.get(OTHER_ROUTE) ?? this.makeRoute(OTHER_ROUTE);
      this.routes.set(OTHER_ROUTE, rm);
      return rm;
    }
    rm = this.makeRoute(route);
    this.routes.set(route, rm);
    return rm;
  }

  /** Counts one ERROR answer of a forwarded message. */
  error(rm: RouteMetrics, code: number): void {
    rm.errors.set(code, (rm.errors.get(code) ?? 0) + 1);
  }

  /** Counts one refusal. */
  refused(reason: RefusalReason): void {
    let child = this.refusalChildren.get(reason);
    if (child === undefined) {
      child = this.refusals.labels(reason);
      this.refusalChildren.set(reason, child);
    }
    child.inc();
  }

  /** Counts one KICK. */
  kicked(code: number): void {
    this.kicks.labels(codeName(code)).inc();
  }

  /** Counts one accepted connection. */
  connectionOpened(transport: string): void {
    this.connectionsOpened.labels(transport).inc();
  }

  private makeRoute(route: string): RouteMetrics {
    return { route, requests: 0, notifies: 0, duration: this.duration.seriesFor(route), errors: new Map() };
  }
}
