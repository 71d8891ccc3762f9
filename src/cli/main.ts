import { helpFor, wantsHelp } from "./help.js";
import { UsageError } from "./usage-error.js";

/** Usage of the `switchyard` command, printed by `help` and on a bad command line. */
export const USAGE = `usage: switchyard <command> [options]

  init DIR [--name NAME] [--switchyard SPEC] write a new project (example module greeter) into DIR
  setup                                      install what the project misses (npm deps, nats-server, redis-server), build it
  gen [--check]                              generate TypeScript types from proto/ (in a project: generated/proto.ts)
  start [--config PATH] [--ready-file PATH]  start the whole cluster in the foreground (Ctrl-C stops it)
  module NAME [--instance ID] [--config PATH]  run one module instance
  gateway [--id ID] [--config PATH]          run one gateway
  agent [--nats URL] [--host-id ID]          host agent: the master starts/stops instances on this host
  ctl status [--json] [--nats URL]           list every instance of a running cluster
  ctl stop [--nats URL]                      stop a running cluster gracefully
  ctl scale MODULE N [--host ID] [--nats URL]  run N instances of MODULE (new ones on agent host ID)
  ctl add MODULE [--instances N] [--from FILE] [--proto FILE] [--host ID]
                                             start a module type the cluster does not run yet
  ctl remove MODULE [--nats URL]             drain every instance of MODULE, then stop them
  ctl rollout MODULE [--from FILE] [--proto FILE]
                                             replace every instance by one of the new code, no request lost
  ctl kick UID [--reason R] [--nats URL]     close the sessions of a user, with a reason
  client [--host H] [--port P]               interactive client (REPL) against a gateway
  bots --scenario FILE --bots N --ramp S [--duration S] [--host H] [--port P] [--json OUT]
                                             load-test bots: scripted players against a running cluster
  web [--port P] [--gate URL]                serve the web demo for a running cluster (README "Web demo")
  nats-permissions                           print the NATS authorization block (one user per role) for a NATS server you run
  help [COMMAND]                             this text, or the usage of COMMAND (also: COMMAND --help)

The config defaults to $SWITCHYARD_CONFIG, else config/cluster.json.`;

/**
 * Runs one `switchyard` command. Each command owns its process lifetime (long-running ones
 * exit on their own signals); a failure is printed without a stack trace and sets exit code 1,
 * a bad command line prints the usage and exits 2.
 */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    // `COMMAND --help` (any verb, any position) and `help COMMAND`: usage on stdout, exit 0
    const helpTopic = command === "help" || command === "--help" || command === "-h" ? rest[0] : wantsHelp(rest) ? command : undefined;
    if (helpTopic !== undefined) {
      const text = await helpFor(helpTopic, command === helpTopic ? rest : rest.slice(1));
      if (text === null) throw new UsageError(`unknown command "${helpTopic}"`);
      process.stdout.write(text + "\n");
      return;
    }
    switch (command) {
      case "init":
        return (await import("./init-command.js")).runInitCommand(rest);
      case "setup":
        return (await import("./setup-command.js")).runSetupCommand(rest);
      case "gen":
        return (await import("./gen-command.js")).runGenCommand(rest);
      case "start":
        return await (await import("./start-command.js")).runStartCommand(rest);
      case "module":
        return await (await import("./module-command.js")).runModuleCommand(rest);
      case "gateway":
        return await (await import("./gateway-command.js")).runGatewayCommand(rest);
      case "agent":
        return await (await import("./agent-command.js")).runAgentCommand(rest);
      case "ctl":
        return await (await import("./ctl-command.js")).runCtlCommand(rest);
      case "client":
        return await (await import("./client-command.js")).runClientCommand(rest);
      case "bots":
        return await (await import("./bots-command.js")).runBotsCommand(rest);
      case "web":
        return await (await import("./web-command.js")).runWebCommand(rest);
      case "nats-permissions":
        process.stdout.write((await import("../servers/nats-server-config.js")).natsAuthorizationTemplate());
        return;
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        return;
      default:
        throw new UsageError(command === undefined ? "no command given" : `unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`switchyard: ${err.message}\n\n${err.message.includes("usage") ? "" : USAGE + "\n"}`);
      process.exit(2);
    }
    process.stderr.write(`switchyard ${command}: ${errorText(err)}\n`);
    process.exit(1);
  }
}

/** The message of an error and of its causes, without stack traces. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let text = err.message;
  let cause: unknown = err.cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    if (!text.includes(cause.message)) text += ` (${cause.message})`;
    cause = cause.cause;
  }
  return text;
}
