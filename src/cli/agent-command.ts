import { hostname } from "node:os";
import { resolve } from "node:path";
import { connectBus } from "../bus/connection.js";
import { defaultConfigPath, loadClusterConfig } from "../config/cluster-config.js";
import { createLogger } from "../log/logger.js";
import { useCredentials } from "../servers/credentials.js";
import { NatsRole } from "../servers/nats-permissions.js";
import { startHostAgent } from "../agent/agent.js";
import { optString, parseArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard agent`. */
export const AGENT_USAGE = "switchyard agent [--nats URL] [--host-id ID] [--config PATH]   let the master start and stop instances on this host";

/**
 * `switchyard agent --nats URL [--host-id ID] [--config PATH]`: a host agent. The master places
 * instances here with `ctl add|scale ... --host ID`; they run as this agent's children (own
 * process groups, so they outlive it) and show with this host id in `ctl status`. Runs until
 * SIGTERM/SIGINT.
 */
export async function runAgentCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"\nusage: ${AGENT_USAGE}`);
  const configOpt = optString(args, "config");
  const config = loadClusterConfig(configOpt ?? defaultConfigPath());
  const natsUrl = optString(args, "nats") ?? config.nats.url;
  config.nats.url = natsUrl;
  // Same host as an embedded cluster: the master role's file, and its siblings for the children.
  const credentialsDir = useCredentials(config, NatsRole.master);
  const hostId = optString(args, "host-id") ?? process.env.SWITCHYARD_HOST_ID ?? hostname();
  const log = createLogger("agent", hostId, process.env.SWITCHYARD_LOG_LEVEL ?? config.log.level);
  const nc = await connectBus({ ...config.nats, url: natsUrl }, `switchyard-agent-${hostId}`);
  const agent = startHostAgent({ hostId, nc, natsUrl, log, credentialsDir, ...(configOpt !== undefined ? { configPath: resolve(configOpt) } : {}) });
  process.stdout.write(`switchyard agent ${hostId} ready on ${natsUrl}\n`);
  await new Promise<void>((done) => {
    const onSignal = (): void => done();
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
  const running = agent.list();
  agent.close();
  await nc.drain().catch(() => undefined);
  log.info({ running: running.map((p) => p.instance) }, "agent stopped; its instances keep running (a restarted master adopts them)");
  process.exit(0);
}
