import { loadClusterConfig, defaultConfigPath, unorderedModules } from "../config/cluster-config.js";
import { createGateway } from "../gateway/index.js";
import { createLogger } from "../log/logger.js";
import { useCredentials } from "../servers/credentials.js";
import { NatsRole } from "../servers/nats-permissions.js";
import { optInt, optString, parseArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard gateway`. */
export const GATEWAY_USAGE = "usage: switchyard gateway [--id ID] [--endpoint GW] [--take-ports-from OLD_ID] [--config PATH] [--nats URL] [--host H] [--port P]";

/**
 * `switchyard gateway`: runs one gateway of the cluster config until SIGTERM/SIGINT (or an
 * operator's drain), then drains it and exits 0 (1 when the gateway stopped on an error).
 * Flags: --id (a gateways[].id of the config; default: the first one), --config (default $SWITCHYARD_CONFIG or
 * config/cluster.json), --nats / --host / --port override the config. --endpoint names the
 * gateways[] entry whose ports and settings to use when the id differs (a replacement started by
 * `ctl rollout gateway`, e.g. id gw-1-3fa2 for endpoint gw-1); --take-ports-from asks that running
 * gateway to close its listeners and binds the same ports once they are free.
 */
export async function runGatewayCommand(args: string[]): Promise<void> {
  const parsed = parseArgs(args);
  const configPath = optString(parsed, "config") ?? defaultConfigPath();
  const config = loadClusterConfig(configPath);
  const id = optString(parsed, "id") ?? config.gateways[0]?.id;
  if (id === undefined) throw new UsageError(`${configPath} lists no gateways: add one to "gateways" or pass --id. ${GATEWAY_USAGE}`);
  const endpointId = optString(parsed, "endpoint") ?? id;
  const endpoint = config.gateways.find((g) => g.id === endpointId);
  if (endpoint === undefined) {
    const known = config.gateways.map((g) => g.id).join(", ") || "(none)";
    throw new UsageError(`no gateway "${endpointId}" in ${configPath}: its gateways are ${known}. ${GATEWAY_USAGE}`);
  }
  const takePortsFrom = optString(parsed, "take-ports-from");
  const log = createLogger("gateway", id, process.env.SWITCHYARD_LOG_LEVEL ?? config.log.level);
  const natsUrl = optString(parsed, "nats") ?? config.nats.url;
  config.nats.url = natsUrl;
  useCredentials(config, NatsRole.gateway);
  const gateway = await createGateway({
    id,
    host: optString(parsed, "host") ?? endpoint.host,
    port: optInt(parsed, "port") ?? endpoint.port,
    settings: config.gateway,
    nats: { ...config.nats, url: natsUrl },
    redis: config.redis,
    version: process.env.npm_package_version ?? "0.1.0",
    logger: log,
    unorderedModules: unorderedModules(config),
    metrics: config.telemetry.metrics,
    otlpTracesUrl: config.telemetry.otlpTracesUrl,
    ...(endpoint.wsPort !== undefined ? { wsPort: endpoint.wsPort } : {}),
    ...(takePortsFrom !== undefined ? { takePortsFrom, portTimeoutMs: config.master.readyTimeoutMs } : {}),
    ...(endpoint.tls ? { tls: endpoint.tls } : {}),
  });
  // SIGTERM (a rollout, an operator): sessions move to another gateway and resume there;
  // SIGINT (the whole cluster stops): they are told to go, nobody waits for their resume.
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, "signal received: draining");
    void gateway.drain(signal === "SIGTERM");
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const err = await gateway.stopped;
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  if (err) log.error({ err }, "gateway stopped with an error");
  log.flush();
  process.exit(err ? 1 : 0);
}
