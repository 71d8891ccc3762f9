import { defaultConfigPath, loadClusterConfig } from "../config/cluster-config.js";
import { demoClientConfig, startDemoServer } from "../web/index.js";
import { optInt, optString, parseArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard web`. */
export const WEB_USAGE = `usage: switchyard web [--port P] [--host H] [--gate URL] [--config PATH]

Serves the web demo (lobby, tic-tac-toe, team chat, rank) for a running cluster; open the URL it
prints in two browser tabs. \`npm start\` serves it too when the config has a "web" section.

options:
  --port P        listen port (default: web.port of the config, else 3280)
  --host H        listen host (default: web.host of the config, else 127.0.0.1)
  --gate URL      the gate the page asks for a gateway (default: the first gateway with a wsPort in the config)
  --config PATH   cluster config (default $SWITCHYARD_CONFIG, else config/cluster.json)`;

/** `switchyard web`: the demo server in the foreground until SIGINT/SIGTERM. */
export async function runWebCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.positional.length > 0) throw new UsageError(`switchyard web takes no arguments, got "${args.positional.join(" ")}"\n\n${WEB_USAGE}`);
  const cfg = loadClusterConfig(optString(args, "config") ?? defaultConfigPath());
  const gate = optString(args, "gate");
  const client = gate !== undefined ? { gate } : demoClientConfig(cfg);
  if (client.gate === undefined) throw new UsageError(`no gateway in the config has a wsPort, so the page has nowhere to connect: add one, or pass --gate URL\n\n${WEB_USAGE}`);
  const server = await startDemoServer({
    host: optString(args, "host") ?? cfg.web?.host ?? "127.0.0.1",
    port: optInt(args, "port") ?? cfg.web?.port ?? 3280,
    client,
  });
  process.stdout.write(`switchyard web demo at ${server.url} (gate ${client.gate}); Ctrl-C stops it\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
}
