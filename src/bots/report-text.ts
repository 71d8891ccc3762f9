import type { BotsReport } from "./stats.js";

/** The final report of a bots run as text (the same figures as the JSON). */
export function formatBotsReport(r: BotsReport): string {
  const lines: string[] = [];
  lines.push(
    `scenario ${r.scenario} against ${r.target}: ${r.bots} bots ramped over ${r.rampSeconds} s` +
      `${r.durationSeconds === null ? "" : `, ${r.durationSeconds} s run`}, ${r.elapsedSeconds} s elapsed`,
  );
  lines.push(`bots: ${r.connected} connected, ${r.finished} finished, ${r.failed} failed · ${r.total.count} calls, ${Math.round(r.rps)} rps`);
  lines.push("");
  const rows = [["route", "calls", "ok", "errors", "p50 ms", "p95 ms", "p99 ms"]];
  for (const x of [...r.routes, r.total]) {
    const errs = Object.entries(x.errors).map(([c, n]) => `${c} ${n}`).join(", ");
    rows.push([x.route, String(x.count), String(x.ok), errs || "0", x.p50.toFixed(2), x.p95.toFixed(2), x.p99.toFixed(2)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(row.map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd());
  const codes = Object.entries(r.errorsByCode);
  lines.push("");
  lines.push(`errors by code: ${codes.length === 0 ? "none" : codes.map(([c, n]) => `${c} ${n}`).join(", ")}`);
  if (r.failures.length > 0) {
    lines.push("failed bots:");
    for (const f of r.failures) lines.push(`  ${f.bots} bot(s) (e.g. #${f.example}): ${f.reason}`);
  }
  return lines.join("\n");
}
