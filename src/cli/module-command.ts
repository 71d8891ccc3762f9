import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { loadClusterConfig, defaultConfigPath } from "../config/cluster-config.js";
import { createLogger } from "../log/logger.js";
import { NATS_URL_ENV, REDIS_URL_ENV, moduleRole, useCredentials } from "../servers/credentials.js";
import { loadModuleDefinition } from "../module/loader.js";
import { startModule } from "../module/host.js";
import { loadProto, protoDirs, type ProtoRegistry } from "../proto/registry.js";
import { optString, parseArgs } from "./args.js";

/** Usage of `switchyard module`. */
export const MODULE_USAGE = "usage: switchyard module NAME [--instance ID] [--config PATH] [--nats URL] [--redis URL] [--from FILE] [--proto FILE]";

/**
 * `switchyard module NAME [--instance ID] [--config PATH] [--nats URL] [--redis URL] [--from FILE] [--proto FILE]`:
 * runs one module instance until SIGTERM/SIGINT, then drains and exits 0. A module written after
 * the build brings its own .proto: `--proto FILE`, or `NAME.proto` next to the `--from` file.
 */
export async function runModuleCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const name = args.positional[0];
  if (!name) {
    process.stderr.write(MODULE_USAGE + "\n");
    process.exitCode = 2;
    return;
  }
  const config = loadClusterConfig(optString(args, "config") ?? defaultConfigPath());
  // $SWITCHYARD_NATS_URL / $SWITCHYARD_REDIS_URL: set by a host agent (a URL may hold a password).
  const natsUrl = optString(args, "nats") ?? process.env[NATS_URL_ENV];
  if (natsUrl) config.nats.url = natsUrl;
  const redisUrl = optString(args, "redis") ?? process.env[REDIS_URL_ENV];
  if (redisUrl) config.redis.url = redisUrl;
  useCredentials(config, moduleRole(config, name));
  const instanceId = optString(args, "instance");
  const log = createLogger(name, instanceId ?? name, config.log.level);
  let host;
  try {
    const from = optString(args, "from");
    const definition = await loadModuleDefinition(name, config, from);
    const registry = moduleRegistry(name, from, optString(args, "proto"));
    host = await startModule({ definition, config, log, ...(instanceId ? { instanceId } : {}), ...(registry ? { registry } : {}) });
  } catch (err) {
    log.fatal({ err }, `module ${name} failed to start: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  // SIGTERM (rollout, scale-down): drain fully, stateful work included. SIGINT (the master
  // stopping the whole cluster, or Ctrl-C): finish in-flight requests but not rooms.
  const stop = (signal: string): void => {
    log.info({ signal }, signal === "SIGINT" ? "stop requested" : "drain requested");
    void (signal === "SIGINT" ? host.stop() : host.drain());
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  const failure = await host.stopped;
  process.exit(failure ? 1 : 0);
}

/**
 * proto/ plus the module's own .proto when it has one (`--proto`, else `<name>.proto` beside the
 * `--from` file, unless proto/ already holds a file of that name); undefined: proto/ alone.
 */
function moduleRegistry(name: string, from: string | undefined, proto: string | undefined): ProtoRegistry | undefined {
  let file = proto === undefined ? undefined : resolve(proto);
  if (file === undefined && from !== undefined) {
    const beside = join(dirname(resolve(from)), `${name}.proto`);
    if (existsSync(beside) && !protoDirs().some((dir) => existsSync(join(dir, basename(beside))))) file = beside;
  }
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new Error(`module ${name}: no proto file at ${file}`);
  return loadProto(undefined, [file]);
}
