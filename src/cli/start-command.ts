import { resolve } from "node:path";
import { defaultConfigPath } from "../config/cluster-config.js";
import { runMaster } from "../master/master.js";
import { optString, parseArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard start`. */
export const START_USAGE = "switchyard start [--config PATH]   start the whole cluster (master) in the foreground";

/**
 * `switchyard start [--config PATH]`: runs the master in the foreground until Ctrl-C, then
 * exits with its code (0 after a clean stop).
 */
export async function runStartCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"\nusage: ${START_USAGE}`);
  const configPath = resolve(optString(args, "config") ?? defaultConfigPath());
  const code = await runMaster({ configPath });
  process.exit(code);
}
