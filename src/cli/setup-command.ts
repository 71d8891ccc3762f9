import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { frameworkRoot, projectRoot } from "../config/cluster-config.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard setup`. */
export const SETUP_USAGE = "switchyard setup   install what the project misses (npm deps, nats-server, redis-server, redis-sentinel) and build it";

/**
 * `switchyard setup`: runs the framework's scripts/setup.sh for the project root (npm install,
 * nats-server and redis-server via apt-get as root, `npm run build` when a source changed) and
 * exits with its code.
 */
export function runSetupCommand(argv: string[]): void {
  if (argv.length > 0) throw new UsageError(`unexpected argument "${argv[0]}"\nusage: ${SETUP_USAGE}`);
  const script = join(frameworkRoot(), "scripts", "setup.sh");
  const run = spawnSync("bash", [script], { stdio: "inherit", env: { ...process.env, SWITCHYARD_PROJECT: projectRoot() } });
  if (run.error) throw new Error(`cannot run ${script}: ${run.error.message}`);
  process.exitCode = run.status ?? 1;
}
