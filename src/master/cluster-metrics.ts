import type { NatsConnection } from "nats";
import { Gauge } from "prom-client";
import { renderExposition } from "../metrics/exposition.js";
import { gatherMetrics, type InstanceMetrics, type MetricFamily } from "../metrics/gather.js";
import { liveView, type ClusterSample, type LiveView } from "../metrics/live-view.js";
import { ProcessMetrics } from "../metrics/process-metrics.js";
import type { Supervisor } from "./supervisor.js";

/** How long the master waits for the processes of one scrape. */
const GATHER_WAIT_MS = 1_000;
/** A previous sample younger than this is too short a window for rates: take a new pair. */
const MIN_WINDOW_MS = 500;
/** ... and one older than this is too stale to be "live". */
const MAX_WINDOW_MS = 30_000;
/** The window of a fresh pair of samples. */
const FRESH_WINDOW_MS = 1_000;

/**
 * The cluster's one scrape target: the master's own metrics (supervision, scrape cost, its
 * process) plus every gateway's and module instance's, gathered over NATS (`sys.metrics`).
 */
export class ClusterMetrics {
  private readonly nc: NatsConnection;
  private readonly supervisor: Supervisor;
  private readonly own = new ProcessMetrics("master", "master");
  private readonly scrapeSeconds: Gauge;
  private readonly scrapeInstances: Gauge;
  /** Processes that answered the last gather: a floor for the next one's expected count. */
  private lastAnswered = 0;
  private last: ClusterSample | null = null;

  constructor(nc: NatsConnection, supervisor: Supervisor) {
    this.nc = nc;
    this.supervisor = supervisor;
    const registers = [this.own.registry];
    this.own.watchNats(nc);
    new Gauge({
      name: "switchyard_master_processes",
      help: "Supervised processes per module and state (starting, ready, backoff, stopping).",
      labelNames: ["module_name", "state"],
      registers,
      collect() {
        this.reset();
        for (const p of supervisor.snapshot()) this.inc({ module_name: p.module, state: p.crashLooping ? "crash-loop" : p.state });
      },
    });
    new Gauge({
      name: "switchyard_master_restarts",
      help: "Restarts after an unexpected exit, summed over the module's supervised slots.",
      labelNames: ["module_name"],
      registers,
      collect() {
        this.reset();
        for (const p of supervisor.snapshot()) this.inc({ module_name: p.module }, p.restarts);
      },
    });
    this.scrapeSeconds = new Gauge({ name: "switchyard_master_scrape_duration_seconds", help: "Time the last gather of every process's metrics took.", registers });
    this.scrapeInstances = new Gauge({ name: "switchyard_master_scrape_instances", help: "Processes that answered the last gather.", registers });
  }

  /** Every process's metrics now (the master's own first). */
  async sample(): Promise<ClusterSample> {
    const began = performance.now();
    const alive = this.supervisor.snapshot().filter((p) => p.pid !== null && p.state !== "stopped").length;
    const others = await gatherMetrics(this.nc, Math.max(alive, this.lastAnswered), GATHER_WAIT_MS);
    this.lastAnswered = others.length;
    this.scrapeSeconds.set((performance.now() - began) / 1000);
    this.scrapeInstances.set(others.length);
    const mine: InstanceMetrics = { module: "master", instance: "master", families: (await this.own.registry.getMetricsAsJSON()) as unknown as MetricFamily[] };
    return { at: Date.now(), instances: [mine, ...others] };
  }

  /** The Prometheus text page of the whole cluster. */
  async exposition(): Promise<string> {
    const s = await this.sample();
    return renderExposition(s.instances.map((i) => i.families));
  }

  /** Rates since the previous call (or over a fresh one-second window when there is none). */
  async live(): Promise<LiveView> {
    let prev = this.last;
    const now = Date.now();
    if (prev === null || now - prev.at < MIN_WINDOW_MS || now - prev.at > MAX_WINDOW_MS) {
      prev = await this.sample();
      await new Promise((r) => setTimeout(r, FRESH_WINDOW_MS));
    }
    const cur = await this.sample();
    this.last = cur;
    return liveView(prev, cur);
  }
}
