/** True when a command line asks for help (`--help` or `-h` anywhere after the command). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/**
 * The usage of `command` (for ctl: of the verb in `rest`, when it names one), as printed on
 * stdout by `switchyard COMMAND --help` and `switchyard help COMMAND`; null for an unknown command.
 * The command modules are imported lazily, like the commands themselves.
 */
export async function helpFor(command: string, rest: readonly string[]): Promise<string | null> {
  switch (command) {
    case "start":
      return `usage: ${(await import("./start-command.js")).START_USAGE}`;
    case "module":
      return (await import("./module-command.js")).MODULE_USAGE;
    case "gateway":
      return (await import("./gateway-command.js")).GATEWAY_USAGE;
    case "agent":
      return `usage: ${(await import("./agent-command.js")).AGENT_USAGE}`;
    case "ctl":
      return ctlHelp((await import("./ctl-command.js")).CTL_USAGE, rest.find((w) => !w.startsWith("-")));
    case "client":
      return (await import("./client-command.js")).CLIENT_USAGE;
    case "bots":
      return (await import("./bots-command.js")).BOTS_USAGE;
    case "web":
      return (await import("./web-command.js")).WEB_USAGE;
    default:
      return null;
  }
}

/** The lines of `usage` for one ctl verb (with their continuation lines and the common options). */
function ctlHelp(usage: string, verb: string | undefined): string {
  const lines = usage.split("\n");
  const common = lines.filter((l) => l.trimStart().startsWith("common options"));
  const mine: string[] = [];
  let inVerb = false;
  for (const line of lines) {
    if (line.startsWith("switchyard ctl ")) inVerb = line.startsWith(`switchyard ctl ${verb} `) || line === `switchyard ctl ${verb}`;
    else if (!line.startsWith("    ")) inVerb = false;
    if (inVerb) mine.push(line);
  }
  return mine.length === 0 ? `usage:\n${usage}` : `usage:\n${[...mine, ...common].join("\n")}`;
}
