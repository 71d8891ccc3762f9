import { mkdirSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { findBinary } from "../../src/process/binaries.js";
import { ROOT } from "./processes.js";

/** One measured figure, printed next to the baseline measured in the same run. */
export interface Figure {
  scenario: string;
  /** What was measured, e.g. "e2e echo 100×16 rps". */
  name: string;
  value: number;
  unit: string;
  /** The raw baseline of the same run (name and value), when there is one. */
  baseline?: { name: string; value: number };
  /** The target, as text, e.g. "≥ 3× raw". */
  target?: string;
  /** Whether the target is met (undefined: no target). */
  met?: boolean;
}

/** The middle value of `xs` (the upper one of an even count); NaN for none. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return "—";
  if (unit === "rps" || unit === "msg/s") return `${Math.round(v).toLocaleString("en-US")} ${unit}`;
  if (unit === "ms") return `${v.toFixed(v < 10 ? 2 : 1)} ms`;
  if (unit === "KiB") return `${v.toFixed(2)} KiB`;
  return `${Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(2)} ${unit}`.trim();
}

/** Formats figures as one Markdown table (what run-all prints and README copies). */
export function table(figures: Figure[]): string {
  const rows = [
    ["scenario", "figure", "value", "baseline (same run)", "ratio", "target"],
    ["---", "---", "---:", "---", "---:", "---"],
  ];
  for (const f of figures) {
    const ratio = f.baseline && f.baseline.value > 0 ? `${(f.value / f.baseline.value).toFixed(2)}×` : "";
    const base = f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value, f.unit)}` : "";
    const target = f.target ? `${f.target} ${f.met === undefined ? "" : f.met ? "✔" : "✘"}` : "";
    rows.push([f.scenario, f.name, fmt(f.value, f.unit), base, ratio, target.trim()]);
  }
  return rows.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** The machine a run happened on, printed above the table and stored with the JSON. */
export function machine(): Record<string, string | number> {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    natsServer: natsVersion(),
    benchSeconds: Number(process.env.BENCH_SECONDS ?? 5),
  };
}

/** Prints the table and writes it as JSON to bench/results/<name>-<date>.json; returns the path. */
export function publish(name: string, figures: Figure[], extra: Record<string, unknown> = {}): string {
  const m = { ...machine(), ...extra };
  process.stdout.write(`\n${name} — ${Object.entries(m).map(([k, v]) => `${k}: ${v}`).join(", ")}\n\n${table(figures)}\n\n`);
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}-${String(m.date).replace(/[:.]/g, "-")}.json`);
  writeFileSync(path, JSON.stringify({ ...m, figures }, null, 2) + "\n");
  process.stdout.write(`written to ${path}\n`);
  return path;
}

/** Progress line on stderr while a scenario runs. */
export function step(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/** True when the compiled file `metaUrl` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  return metaUrl === new URL(`file://${arg.startsWith("/") ? arg : join(process.cwd(), arg)}`).href;
}

/** `nats-server --version`, e.g. "v2.9.10". */
function natsVersion(): string {
  try {
    return execFileSync(findBinary("nats-server"), ["--version"], { encoding: "utf8" }).trim().replace(/^nats-server:\s*/, "");
  } catch {
    return "?";
  }
}
