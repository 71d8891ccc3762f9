import { RequestStrategy, type NatsConnection, type Subscription } from "nats";
import type { Registry } from "prom-client";
import { SystemSubject } from "../bus/subjects.js";

/** One series of a family (for histograms `metricName` is the `_bucket`/`_sum`/`_count` name). */
export interface MetricSample {
  value: number;
  labels: Record<string, string | number | undefined>;
  metricName?: string;
}

/** One metric family as prom-client's `getMetricsAsJSON()` gives it. */
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  values: MetricSample[];
}

/** What one process answered to a gather. */
export interface InstanceMetrics {
  module: string;
  instance: string;
  families: MetricFamily[];
}

/**
 * Answers the cluster's metrics gather (`sys.metrics`) with this registry's families as JSON,
 * so one scrape of the master covers every process (30 processes need no 30 ports).
 */
export function serveMetrics(nc: NatsConnection, registry: Registry, module: string, instance: string): Subscription {
  return nc.subscribe(SystemSubject.metrics, {
    callback: (_err, msg) => {
      void registry.getMetricsAsJSON().then(
        (families) => {
          // prom-client's own JSON shape, restated as MetricFamily (its types are not exported)
          if (msg.reply) msg.respond(JSON.stringify({ module, instance, families: families as unknown as MetricFamily[] } satisfies InstanceMetrics));
        },
        () => undefined,
      );
    },
  });
}

/**
 * Asks every process for its metrics: ends once `expected` answered, or `maxWaitMs` after asking
 * (processes that did not answer by then are left out of this scrape).
 */
export async function gatherMetrics(nc: NatsConnection, expected: number, maxWaitMs: number): Promise<InstanceMetrics[]> {
  const out: InstanceMetrics[] = [];
  if (expected <= 0) return out;
  try {
    const replies = await nc.requestMany(SystemSubject.metrics, undefined, { strategy: RequestStrategy.Count, maxMessages: expected, maxWait: maxWaitMs });
    for await (const m of replies) {
      if (m.data.length === 0) continue;
      out.push(JSON.parse(new TextDecoder().decode(m.data)) as InstanceMetrics);
    }
  } catch (err) {
    // no process subscribed at all: an empty scrape, not a failure
    if ((err as { code?: string }).code !== "503") throw err;
  }
  return out;
}
