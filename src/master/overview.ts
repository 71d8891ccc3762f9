import type { NatsConnection } from "nats";
import { listInstances, type InstanceStatus } from "../bus/discovery.js";
import type { LiveView } from "../metrics/live-view.js";
import type { ClusterMetrics } from "./cluster-metrics.js";
import type { MasterStatus } from "./status.js";

/** A scale, add, remove or rollout the master is carrying out now. */
export interface OperationInProgress {
  verb: string;
  module: string;
  startedAt: number;
}

/** Everything the console and `ctl top` show, in one answer (ctl verb `top`, GET /api/overview). */
export interface ClusterOverview {
  master: MasterStatus;
  /** Every instance that answers discovery, with its identity and load. */
  instances: InstanceStatus[];
  /** Rates per route and instance, sessions per gateway; null when metrics are off. */
  live: LiveView | null;
  operations: OperationInProgress[];
  /** True when master.adminToken is set: the console's actions are on. */
  actions: boolean;
}

/** What an overview is built from. */
export interface OverviewSources {
  nc: NatsConnection;
  status(): MasterStatus;
  metrics: ClusterMetrics | null;
  operations(): OperationInProgress[];
  actions: boolean;
}

/** Builds the overview (discovery and the live metrics window run side by side). */
export async function clusterOverview(src: OverviewSources): Promise<ClusterOverview> {
  const [instances, live] = await Promise.all([listInstances(src.nc), src.metrics?.live() ?? Promise.resolve(null)]);
  return { master: src.status(), instances, live, operations: src.operations(), actions: src.actions };
}
