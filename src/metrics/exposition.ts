import type { MetricFamily } from "./gather.js";

/** Content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Renders families of many processes as one Prometheus text page: each family once (HELP and
 * TYPE once, then every process's series; they differ by their `module`/`instance` labels).
 * Not prom-client's AggregatorRegistry: it sums series that share labels (here none do) and
 * drops the ones marked `omit` (process_start_time_seconds), while the console wants them all.
 */
export function renderExposition(sources: readonly (readonly MetricFamily[])[]): string {
  const byName = new Map<string, { help: string; type: string; lines: string[] }>();
  for (const families of sources) {
    for (const f of families) {
      let entry = byName.get(f.name);
      if (entry === undefined) {
        entry = { help: f.help, type: String(f.type), lines: [] };
        byName.set(f.name, entry);
      }
      for (const v of f.values) entry.lines.push(`${v.metricName ?? f.name}${labelText(v.labels)} ${numberText(v.value)}`);
    }
  }
  const out: string[] = [];
  for (const [name, e] of byName) {
    out.push(`# HELP ${name} ${e.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${e.type}`, ...e.lines);
  }
  return out.join("\n") + "\n";
}

function labelText(labels: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (v === undefined) continue;
    parts.push(`${k}="${String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`);
  }
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
