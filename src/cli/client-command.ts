import { existsSync } from "node:fs";
import { SwitchyardError } from "../protocol/errors.js";
import { connect, type Client } from "../client/index.js";
import { defaultConfigPath, loadClusterConfig } from "../config/cluster-config.js";
import { loadProto, type ProtoRegistry } from "../proto/registry.js";
import { dialableHost } from "../process/ports.js";
import { optInt, optString, parseArgs, type ParsedArgs } from "./args.js";
import { callWithJson, errorLine, formatRoutes, messageFromJsonText, routeCodec } from "./client-text.js";
import { runClientRepl } from "./client-repl.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard client`. */
export const CLIENT_USAGE = `usage: switchyard client [repl] [options]          interactive client (reads commands from stdin)
       switchyard client call ROUTE ['JSON'] [options]  one request; prints the reply as JSON
       switchyard client routes                       every route with its request and reply types

options:
  --host H        gateway host (default: first gateway of the config, else 127.0.0.1)
  --port P        gateway port (default: first gateway of the config, else 3250)
  --token T       resume a session (login.Resume) before the call
  --timeout MS    request timeout (default 10000)
  --config PATH   cluster config to read the gateway from (default $SWITCHYARD_CONFIG, else config/cluster.json)`;

/** Where the client connects and how long it waits. */
interface Endpoint {
  host: string;
  port: number;
  timeoutMs: number | undefined;
}

/**
 * `switchyard client …`: `call`, `routes`, or (no subcommand / `repl`) the interactive client.
 * Wire failures print `CODE: message` on stderr and set exit code 1; a bad command line throws
 * UsageError (the dispatcher prints the usage and exits 2).
 */
export async function runClientCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const [sub, ...rest] = args.positional;
  switch (sub) {
    case undefined:
    case "repl":
      return runRepl(args);
    case "call":
      return runCall(args, rest);
    case "routes":
      process.stdout.write(formatRoutes(loadProto()) + "\n");
      return;
    case "help":
      process.stdout.write(CLIENT_USAGE + "\n");
      return;
    default:
      throw new UsageError(`unknown client command "${sub}"\n\n${CLIENT_USAGE}`);
  }
}

async function runCall(args: ParsedArgs, words: string[]): Promise<void> {
  const [route, jsonText = "{}", extra] = words;
  if (route === undefined) throw new UsageError(`client call needs a ROUTE, e.g. switchyard client call echo.Echo '{"text":"hi"}'\n\n${CLIENT_USAGE}`);
  if (extra !== undefined) throw new UsageError(`client call takes one JSON argument; quote it: '${words.slice(1).join(" ")}'\n\n${CLIENT_USAGE}`);
  const token = tokenOption(args);
  const endpoint = resolveEndpoint(args);
  let client: Client | null = null;
  try {
    // Check everything local before touching the network, so a typo fails fast and clearly.
    const registry = loadProto();
    const codec = routeCodec(registry, route);
    messageFromJsonText(codec.request, jsonText);
    const resume = token === undefined ? null : resumeBody(registry, token);
    client = await connect({ ...endpoint, heartbeatMs: 0, requestTimeoutMs: endpoint.timeoutMs });
    if (resume !== null) {
      await client.requestRaw("login.Resume", resume).catch((err: unknown) => {
        const e = SwitchyardError.from(err);
        throw new SwitchyardError(e.code, `--token was not accepted by login.Resume: ${e.message}`, { cause: e });
      });
    }
    process.stdout.write((await callWithJson(client, route, jsonText)) + "\n");
  } catch (err) {
    if (!(err instanceof SwitchyardError)) throw err;
    process.stderr.write(errorLine(err) + "\n");
    process.exitCode = 1;
  } finally {
    await client?.close();
  }
}

async function runRepl(args: ParsedArgs): Promise<void> {
  const endpoint = resolveEndpoint(args);
  const token = tokenOption(args);
  let client: Client;
  try {
    client = await connect({ ...endpoint, requestTimeoutMs: endpoint.timeoutMs });
  } catch (err) {
    if (!(err instanceof SwitchyardError)) throw err;
    process.stderr.write(errorLine(err) + "\n");
    process.exitCode = 1;
    return;
  }
  if (token !== undefined) {
    try {
      await client.requestRaw("login.Resume", resumeBody(client.registry, token));
    } catch (err) {
      process.stderr.write(errorLine(err) + "\n");
      process.exitCode = 1;
      await client.close();
      return;
    }
  }
  const failed = await runClientRepl({
    client,
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
    interactive: process.stdin.isTTY === true,
    where: `${endpoint.host}:${endpoint.port}`,
  });
  if (failed) process.exitCode = 1;
}

/** --token, refusing a bare flag (a forgotten value would silently skip the resume). */
function tokenOption(args: ParsedArgs): string | undefined {
  if (args.options.get("token") === true) throw new UsageError(`--token expects the token returned by login.Login\n\n${CLIENT_USAGE}`);
  return optString(args, "token");
}

/** The encoded login.Resume request for `token`, or BAD_REQUEST when proto/ lacks the route. */
function resumeBody(registry: ProtoRegistry, token: string): Uint8Array {
  const codec = registry.route<object, object>("login.Resume");
  if (codec === null) {
    throw new SwitchyardError(
      "BAD_REQUEST",
      `--token needs the route login.Resume, which no service in ${registry.dir} declares yet; log in with login.Login instead`,
    );
  }
  return codec.request.encode(codec.request.fromJson({ token }));
}

/** --host/--port, else the first gateway of the cluster config (when there is one), else 127.0.0.1:3250. */
function resolveEndpoint(args: ParsedArgs): Endpoint {
  let host = optString(args, "host");
  let port = optInt(args, "port");
  const timeoutMs = optInt(args, "timeout");
  if (timeoutMs !== undefined && timeoutMs <= 0) throw new UsageError(`--timeout expects a positive number of ms, got ${timeoutMs}\n\n${CLIENT_USAGE}`);
  if (host === undefined || port === undefined) {
    const configured = configuredGateway(optString(args, "config"));
    host ??= configured?.host;
    if (configured !== null && configured.port > 0) port ??= configured.port;
  }
  host = dialableHost(host);
  port ??= 3250;
  if (port <= 0 || port > 65535) throw new UsageError(`--port expects 1-65535, got ${port}\n\n${CLIENT_USAGE}`);
  return { host, port, timeoutMs };
}

/** The first gateway of the cluster config, or null when there is no config file. */
function configuredGateway(path: string | undefined): { host: string; port: number } | null {
  const file = path ?? defaultConfigPath();
  if (path === undefined && !existsSync(file)) return null;
  return loadClusterConfig(file).gateways[0] ?? null;
}
