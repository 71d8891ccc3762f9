import { SwitchyardError } from "../protocol/errors.js";

/** Counts and latencies of one route. */
export interface RouteReport {
  route: string;
  /** Calls made (successes + errors). */
  count: number;
  ok: number;
  /** Errors of this route by code name. */
  errors: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
}

/** The final figures of a bots run (also written as JSON). */
export interface BotsReport {
  scenario: string;
  target: string;
  bots: number;
  rampSeconds: number;
  durationSeconds: number | null;
  /** Wall time of the whole run in seconds. */
  elapsedSeconds: number;
  /** Bots that connected / finished their scenario / failed. */
  connected: number;
  finished: number;
  failed: number;
  /** Calls per second over the run, all routes. */
  rps: number;
  /** All routes together. */
  total: RouteReport;
  routes: RouteReport[];
  /** Errors of every route by code name. */
  errorsByCode: Record<string, number>;
  /** Why bots failed: reason → how many bots (one line per distinct reason). */
  failures: { reason: string; bots: number; example: number }[];
}

class RouteStats {
  count = 0;
  ok = 0;
  readonly errors: Record<string, number> = {};
  readonly samples: number[] = [];
}

/** Per-route counters and latency samples collected by every bot of a run. */
export class BotStats {
  private readonly routes = new Map<string, RouteStats>();
  private readonly failures = new Map<string, { bots: number; example: number }>();
  connected = 0;
  finished = 0;
  failed = 0;
  /** Calls completed (for the live progress line). */
  calls = 0;
  /** Errors (for the live progress line). */
  errorCount = 0;

  /** Records one call of `route` that took `ms`; `err` when it failed. */
  record(route: string, ms: number, err: unknown): void {
    let r = this.routes.get(route);
    if (r === undefined) {
      r = new RouteStats();
      this.routes.set(route, r);
    }
    r.count++;
    this.calls++;
    r.samples.push(ms);
    if (err === null || err === undefined) {
      r.ok++;
      return;
    }
    this.errorCount++;
    const code = errorCode(err);
    r.errors[code] = (r.errors[code] ?? 0) + 1;
  }

  /** Records that bot `index` failed and why. */
  fail(index: number, err: unknown): void {
    this.failed++;
    const reason = `${errorCode(err)}: ${err instanceof Error ? err.message : String(err)}`;
    const f = this.failures.get(reason);
    if (f === undefined) this.failures.set(reason, { bots: 1, example: index });
    else f.bots++;
  }

  /** Builds the report. */
  report(meta: Pick<BotsReport, "scenario" | "target" | "bots" | "rampSeconds" | "durationSeconds" | "elapsedSeconds">): BotsReport {
    const all = new RouteStats();
    const routes: RouteReport[] = [];
    for (const [route, r] of [...this.routes.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      routes.push(summarize(route, r));
      all.count += r.count;
      all.ok += r.ok;
      for (const [c, n] of Object.entries(r.errors)) all.errors[c] = (all.errors[c] ?? 0) + n;
      for (const s of r.samples) all.samples.push(s);
    }
    const total = summarize("(all)", all);
    return {
      ...meta,
      connected: this.connected,
      finished: this.finished,
      failed: this.failed,
      rps: meta.elapsedSeconds > 0 ? total.count / meta.elapsedSeconds : 0,
      total,
      routes,
      errorsByCode: { ...all.errors },
      failures: [...this.failures.entries()].map(([reason, f]) => ({ reason, bots: f.bots, example: f.example })).sort((a, b) => b.bots - a.bots),
    };
  }
}

function summarize(route: string, r: RouteStats): RouteReport {
  const sorted = Float64Array.from(r.samples).sort();
  return { route, count: r.count, ok: r.ok, errors: { ...r.errors }, p50: pct(sorted, 0.5), p95: pct(sorted, 0.95), p99: pct(sorted, 0.99) };
}

function pct(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1));
  return Math.round(sorted[i]! * 100) / 100;
}

/** The wire code name of an error, "CLIENT" for anything the scenario threw itself. */
export function errorCode(err: unknown): string {
  if (err instanceof SwitchyardError) return err.code;
  return "CLIENT";
}
