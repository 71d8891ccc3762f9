import { loadClusterConfig, defaultConfigPath } from "../config/cluster-config.js";
import { createLogger } from "../log/logger.js";
import { loadModuleDefinition } from "../module/loader.js";
import { startModule } from "../module/host.js";
import { optString, parseArgs } from "./args.js";

/**
 * `switchyard module NAME [--instance ID] [--config PATH] [--nats URL] [--redis URL] [--from FILE]`:
 * runs one module instance until SIGTERM/SIGINT, then drains and exits 0.
 */
export async function runModuleCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const name = args.positional[0];
  if (!name) {
    process.stderr.write("usage: switchyard module NAME [--instance ID] [--config PATH] [--nats URL] [--redis URL] [--from FILE]\n");
    process.exitCode = 2;
    return;
  }
  const config = loadClusterConfig(optString(args, "config") ?? defaultConfigPath());
  const natsUrl = optString(args, "nats");
  if (natsUrl) config.nats.url = natsUrl;
  const redisUrl = optString(args, "redis");
  if (redisUrl) config.redis.url = redisUrl;
  const instanceId = optString(args, "instance");
  const log = createLogger(name, instanceId ?? name, config.log.level);
  let host;
  try {
    const definition = await loadModuleDefinition(name, config, optString(args, "from"));
    host = await startModule({ definition, config, log, ...(instanceId ? { instanceId } : {}) });
  } catch (err) {
    log.fatal({ err }, `module ${name} failed to start: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const stop = (signal: string): void => {
    log.info({ signal }, "stop requested");
    void host.drain();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  const failure = await host.stopped;
  process.exit(failure ? 1 : 0);
}
