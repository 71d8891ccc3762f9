import type { InstanceMetrics, MetricFamily } from "./gather.js";

/** One gather of the whole cluster, taken at `at` (ms since epoch). */
export interface ClusterSample {
  at: number;
  instances: InstanceMetrics[];
}

/** Live figures of one route over the window between two samples. */
export interface RouteLive {
  route: string;
  /** Requests handled per second by the module instances (client and module-to-module calls). */
  rps: number;
  /** Errors answered per second. */
  errorsPerSecond: number;
  /** 99th percentile of handler time (ms), null when nothing was handled in the window. */
  p99HandlerMs: number | null;
  /** 99th percentile of end-to-end time at the gateways (ms), null when no client called it. */
  p99GatewayMs: number | null;
}

/** Live figures of one process. */
export interface InstanceLive {
  module: string;
  instance: string;
  /** Requests handled (module) or forwarded (gateway) per second. */
  rps: number;
  rssBytes: number | null;
  /** Event-loop lag p99 (ms) as prom-client measures it. */
  eventLoopLagP99Ms: number | null;
}

/** Sessions of one gateway now. */
export interface GatewayLive {
  instance: string;
  connections: number;
  boundSessions: number;
}

/** What the console and `ctl top` show. */
export interface LiveView {
  windowSeconds: number;
  routes: RouteLive[];
  instances: InstanceLive[];
  gateways: GatewayLive[];
}

type Sums = Map<string, number>;

/** Per-route rps and p99, per-instance load and per-gateway sessions between two samples. */
export function liveView(prev: ClusterSample, cur: ClusterSample): LiveView {
  const seconds = Math.max((cur.at - prev.at) / 1000, 0.001);
  const moduleRequests = delta(sumBy(prev, "switchyard_module_requests_total", "route"), sumBy(cur, "switchyard_module_requests_total", "route"));
  const moduleErrors = delta(sumBy(prev, "switchyard_module_errors_total", "route"), sumBy(cur, "switchyard_module_errors_total", "route"));
  const handler = delta(bucketsBy(prev, "switchyard_module_handler_duration_seconds"), bucketsBy(cur, "switchyard_module_handler_duration_seconds"));
  const e2e = delta(bucketsBy(prev, "switchyard_gateway_request_duration_seconds"), bucketsBy(cur, "switchyard_gateway_request_duration_seconds"));
  // routes that were ever called (a module declares every route from its start, at 0)
  const routes = new Set<string>();
  for (const [route, n] of sumBy(cur, "switchyard_module_requests_total", "route")) if (n > 0) routes.add(route);
  for (const k of e2e.keys()) routes.add(k.slice(0, k.indexOf("\u0000")));
  const routeRows: RouteLive[] = [...routes]
    .sort()
    .map((route) => ({
      route,
      rps: (moduleRequests.get(route) ?? 0) / seconds,
      errorsPerSecond: (moduleErrors.get(route) ?? 0) / seconds,
      p99HandlerMs: quantileMs(handler, route, 0.99),
      p99GatewayMs: quantileMs(e2e, route, 0.99),
    }));
  const perInstance = delta(
    sumBy(prev, "switchyard_module_requests_total", "instance", "switchyard_gateway_requests_total"),
    sumBy(cur, "switchyard_module_requests_total", "instance", "switchyard_gateway_requests_total"),
  );
  const instances: InstanceLive[] = cur.instances
    .map((i) => ({
      module: i.module,
      instance: i.instance,
      rps: (perInstance.get(i.instance) ?? 0) / seconds,
      rssBytes: single(i.families, "process_resident_memory_bytes"),
      eventLoopLagP99Ms: msOrNull(single(i.families, "nodejs_eventloop_lag_p99_seconds")),
    }))
    .sort((a, b) => (a.module === b.module ? a.instance.localeCompare(b.instance) : a.module.localeCompare(b.module)));
  const gateways: GatewayLive[] = cur.instances
    .filter((i) => i.module === "gateway")
    .map((i) => ({
      instance: i.instance,
      connections: total(i.families, "switchyard_gateway_connections"),
      boundSessions: total(i.families, "switchyard_gateway_sessions_bound"),
    }))
    .sort((a, b) => a.instance.localeCompare(b.instance));
  return { windowSeconds: seconds, routes: routeRows, instances, gateways };
}

function family(families: readonly MetricFamily[], name: string): MetricFamily | undefined {
  return families.find((f) => f.name === name);
}

/** Sum of a family's values grouped by one label (more families may add to the same sums). */
function sumBy(sample: ClusterSample, name: string, label: string, ...more: string[]): Sums {
  const out: Sums = new Map();
  for (const i of sample.instances) {
    for (const n of [name, ...more]) {
      for (const v of family(i.families, n)?.values ?? []) {
        const key = String(v.labels[label] ?? "");
        out.set(key, (out.get(key) ?? 0) + v.value);
      }
    }
  }
  return out;
}

/** Cumulative bucket counts of a histogram, keyed "<route>\0<le>", summed over instances. */
function bucketsBy(sample: ClusterSample, name: string): Sums {
  const out: Sums = new Map();
  for (const i of sample.instances) {
    for (const v of family(i.families, name)?.values ?? []) {
      if (v.metricName !== `${name}_bucket`) continue;
      const key = `${String(v.labels.route ?? "")}\u0000${String(v.labels.le)}`;
      out.set(key, (out.get(key) ?? 0) + v.value);
    }
  }
  return out;
}

function delta(before: Sums, after: Sums): Sums {
  const out: Sums = new Map();
  for (const [k, v] of after) out.set(k, Math.max(0, v - (before.get(k) ?? 0)));
  return out;
}

/** histogram_quantile over one route's bucket deltas (linear within the bucket), in ms. */
function quantileMs(buckets: Sums, route: string, q: number): number | null {
  const prefix = `${route}\u0000`;
  const rows: [number, number][] = [];
  for (const [k, v] of buckets) {
    if (!k.startsWith(prefix)) continue;
    const le = k.slice(prefix.length);
    rows.push([le === "+Inf" ? Infinity : Number(le), v]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  const count = rows.at(-1)?.[1] ?? 0;
  if (count === 0) return null;
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, cum] of rows) {
    if (cum >= rank) {
      // past the last finite bucket Prometheus answers the largest finite bound
      if (le === Infinity) return lowerBound * 1000;
      const inBucket = cum - lowerCount;
      const at = inBucket === 0 ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket;
      return at * 1000;
    }
    lowerBound = le;
    lowerCount = cum;
  }
  return lowerBound * 1000;
}

function single(families: readonly MetricFamily[], name: string): number | null {
  const v = family(families, name)?.values[0];
  return v === undefined ? null : v.value;
}

function total(families: readonly MetricFamily[], name: string): number {
  return (family(families, name)?.values ?? []).reduce((a, v) => a + v.value, 0);
}

function msOrNull(seconds: number | null): number | null {
  return seconds === null ? null : seconds * 1000;
}
