import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { formatBotsReport, loadScenario, progressPrinter, runBots } from "../bots/index.js";
import { optInt, optString, parseArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard bots`. */
export const BOTS_USAGE =
  "usage: switchyard bots --scenario FILE --bots N --ramp SECONDS [--duration SECONDS] [--host H] [--port P] [--json OUT]";

/**
 * `switchyard bots`: runs N scripted virtual players (a scenario file's default export) against
 * a running cluster, ramped over --ramp seconds, with a progress line on stderr and a final
 * report (per-route counts, errors by code, p50/p95/p99) on stdout and, with --json, in a file.
 * Exits 1 when any bot failed.
 */
export async function runBotsCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const scenarioPath = optString(args, "scenario");
  if (scenarioPath === undefined) throw new UsageError(`--scenario is required. ${BOTS_USAGE}`);
  const bots = optInt(args, "bots", 10)!;
  if (bots < 1) throw new UsageError(`--bots must be at least 1. ${BOTS_USAGE}`);
  const ramp = Number(optString(args, "ramp") ?? "0");
  if (!Number.isFinite(ramp) || ramp < 0) throw new UsageError(`--ramp must be seconds >= 0. ${BOTS_USAGE}`);
  const durationText = optString(args, "duration");
  const duration = durationText === undefined ? null : Number(durationText);
  if (duration !== null && (!Number.isFinite(duration) || duration <= 0)) throw new UsageError(`--duration must be seconds > 0. ${BOTS_USAGE}`);
  const host = optString(args, "host") ?? "127.0.0.1";
  const port = optInt(args, "port", 3250)!;
  const jsonOut = optString(args, "json");

  const scenario = await loadScenario(scenarioPath);
  const progress = progressPrinter(process.stderr, bots);
  const report = await runBots({
    scenario,
    scenarioName: scenarioPath,
    bots,
    rampSeconds: ramp,
    durationSeconds: duration,
    client: { host, port, heartbeatMs: 10_000 },
    onProgress: (stats, ms) => progress.update(stats, ms),
  });
  progress.done();
  process.stdout.write(formatBotsReport(report) + "\n");
  if (jsonOut !== undefined) {
    const path = resolve(jsonOut);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
    process.stdout.write(`report written to ${path}\n`);
  }
  if (report.failed > 0) process.exitCode = 1;
}
