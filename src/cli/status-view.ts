import type { InstanceStatus } from "../bus/discovery.js";
import type { MasterStatus, SupervisedStatus } from "../master/status.js";

/** One line of `ctl status`: what the instance reports, merged with what its master knows. */
export interface StatusRow {
  module: string;
  instance: string;
  version: string;
  /** Instance state (ready, draining …), or the master's view when it does not answer. */
  state: string;
  pid: number | null;
  host: string;
  startedAt: number;
  served: number | null;
  errors: number | null;
  inflight: number | null;
  /** Gateways only. */
  sessions: number | null;
  /** Restarts of its slot; null when no master supervises it. */
  restarts: number | null;
  crashLooping: boolean;
  /** True when a master supervises it. */
  supervised: boolean;
  /** True when the instance answered discovery. */
  answering: boolean;
}

/**
 * Merges the instances that answered discovery with the master's slots (when a master
 * answered): a slot whose process is not answering (starting, in backoff) still gets a row.
 */
export function mergeStatus(instances: readonly InstanceStatus[], master: MasterStatus | null): StatusRow[] {
  const byInstance = new Map<string, SupervisedStatus>();
  for (const p of master?.processes ?? []) byInstance.set(p.instance, p);
  const rows: StatusRow[] = instances.map((i) => {
    const p = byInstance.get(i.instance);
    byInstance.delete(i.instance);
    return {
      module: i.module,
      instance: i.instance,
      version: i.version,
      state: p?.crashLooping ? "crash-loop" : i.state,
      pid: i.pid,
      host: i.host,
      startedAt: i.startedAt,
      served: i.served,
      errors: i.errors,
      inflight: i.inflight,
      sessions: i.sessions ?? null,
      restarts: p ? p.restarts : null,
      crashLooping: p?.crashLooping ?? false,
      supervised: p !== undefined,
      answering: true,
    };
  });
  for (const p of byInstance.values()) {
    rows.push({
      module: p.module,
      instance: p.instance,
      version: "-",
      state: p.crashLooping ? "crash-loop" : p.state,
      pid: p.pid,
      host: p.host ?? master!.host,
      startedAt: p.startedAt,
      served: null,
      errors: null,
      inflight: null,
      sessions: null,
      restarts: p.restarts,
      crashLooping: p.crashLooping,
      supervised: true,
      answering: false,
    });
  }
  rows.sort((a, b) => (a.module === b.module ? a.instance.localeCompare(b.instance) : a.module.localeCompare(b.module)));
  return rows;
}

/** "3d04h", "2h05m", "4m07s", "12s". */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, "0");
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${s}s`;
}

const COLUMNS = ["MODULE", "INSTANCE", "VERSION", "STATE", "PID", "HOST", "UPTIME", "SERVED", "ERRORS", "INFLIGHT", "SESSIONS", "RESTARTS"] as const;

/** Renders rows as an aligned text table (one header line, one line per row). */
export function renderStatusTable(rows: readonly StatusRow[], now = Date.now()): string {
  const num = (n: number | null): string => (n === null ? "-" : String(n));
  const cells = rows.map((r) => [
    r.module,
    r.instance,
    r.version,
    r.state,
    num(r.pid),
    r.host,
    r.startedAt > 0 ? formatUptime(now - r.startedAt) : "-",
    num(r.served),
    num(r.errors),
    num(r.inflight),
    num(r.sessions),
    num(r.restarts),
  ]);
  const table = [[...COLUMNS] as string[], ...cells];
  const widths = COLUMNS.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  ")).join("\n");
}
