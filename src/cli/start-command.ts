import { renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { defaultConfigPath } from "../config/cluster-config.js";
import { runMaster } from "../master/master.js";
import { READY_PREFIX } from "../process/process-plan.js";
import { optString, parseArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard start`. */
export const START_USAGE = `switchyard start [--config PATH] [--ready-file PATH]   start the whole cluster (master) in the foreground
  --config PATH      cluster config (default $SWITCHYARD_CONFIG, else config/cluster.json)
  --ready-file PATH  once the cluster answers, write the ready line to PATH; removed when the master exits`;

/**
 * `switchyard start [--config PATH] [--ready-file PATH]`: runs the master in the foreground until Ctrl-C, then
 * exits with its code (0 after a clean stop).
 */
export async function runStartCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"\nusage: ${START_USAGE}`);
  const configPath = resolve(optString(args, "config") ?? defaultConfigPath());
  const readyFile = args.options.get("ready-file");
  if (readyFile === true) throw new UsageError(`--ready-file expects a path\nusage: ${START_USAGE}`);
  if (readyFile === undefined) {
    process.exit(await runMaster({ configPath }));
  }
  // For scripts: the file appears (whole, by rename) once the cluster answers, and is gone once
  // the master exits, so "the file exists" means "ready" without parsing the JSON logs.
  const path = resolve(readyFile);
  rmSync(path, { force: true });
  // Only the ready line goes to the file: the master prints other lines after it (the web demo's address).
  const out = (line: string): void => {
    if (line.startsWith(READY_PREFIX)) {
      writeFileSync(`${path}.tmp`, line + "\n");
      renameSync(`${path}.tmp`, path);
    }
    process.stdout.write(line + "\n");
  };
  const code = await runMaster({ configPath, out }).finally(() => rmSync(path, { force: true }));
  process.exit(code);
}
