import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { SwitchyardError } from "../protocol/errors.js";
import type { Client, Unsubscribe } from "../client/index.js";
import type { MessageCodec } from "../proto/registry.js";
import { callWithJson, errorLine, formatRoutes } from "./client-text.js";

/** Where the REPL reads and writes, and the connected client it drives. */
export interface ReplOptions {
  client: Client;
  input: Readable;
  /** Replies, pushes and notices. */
  output: Writable;
  /** `CODE: message` lines of failed commands. */
  errors: Writable;
  /** Show a prompt and the greeting (a TTY); piped input gets neither. */
  interactive: boolean;
  /** "host:port", for the greeting. */
  where: string;
}

/** Commands of the REPL with their help lines, spelled once. */
const COMMANDS = [
  ["call ROUTE [JSON]", "call a route; JSON is the request message (default {})"],
  ["login USER PASS", "log in (login.Login) and show your uid"],
  ["register USER PASS", "create an account (login.Register)"],
  ["watch ROUTE [TYPE]", "print pushes on ROUTE, decoded as TYPE (default: the type named like the route)"],
  ["unwatch ROUTE", "stop printing pushes on ROUTE"],
  ["routes", "list every route with its request and reply types"],
  ["sleep MS", "wait (handy in piped scripts, to see pushes arrive)"],
  ["help", "this text"],
  ["quit", "close the connection and leave"],
] as const;

const HELP = COMMANDS.map(([c, what]) => `  ${c.padEnd(20)} ${what}`).join("\n");

/**
 * Runs the interactive client until `quit`, the end of the input, or the connection closing.
 * Commands run one at a time in input order, so piped scripts behave like typed ones; pushes and
 * kicks are printed as they arrive. Resolves true when any command failed; closes the client.
 */
export async function runClientRepl(opts: ReplOptions): Promise<boolean> {
  const { client, output, errors, interactive } = opts;
  const rl = createInterface({ input: opts.input, output: interactive ? output : undefined, terminal: interactive });
  const say = (text: string): void => void output.write(text + "\n");
  const watches = new Map<string, Unsubscribe>();
  let failed = false;
  let uid = "";

  const prompt = (): void => {
    if (!interactive) return;
    rl.setPrompt(uid === "" ? "switchyard> " : `switchyard(${uid})> `);
    rl.prompt();
  };

  client.onKick((code, message) => say(`kicked: ${code}: ${message}`));
  client.onClose((reason, error) => {
    if (error !== null) {
      say(`connection closed: ${reason}`);
      failed = true;
    }
    rl.close();
  });

  const commands: Record<string, (rest: string) => Promise<void> | void> = {
    async call(rest) {
      const [route, json] = splitWord(rest);
      if (route === "") throw new SwitchyardError("BAD_REQUEST", "usage: call ROUTE [JSON]");
      say(await callWithJson(client, route, json === "" ? "{}" : json));
    },
    async login(rest) {
      const [username, password] = twoWords(rest, "login USER PASS");
      const reply = await client.request("login.Login", { username, password });
      uid = reply.uid;
      say(`logged in as uid ${reply.uid} (token ${reply.token}, expires ${new Date(reply.expiresAt).toISOString()})`);
    },
    async register(rest) {
      const [username, password] = twoWords(rest, "register USER PASS");
      const reply = await client.request("login.Register", { username, password });
      say(`registered ${username}: uid ${reply.uid}`);
    },
    watch(rest) {
      const [route, typeName] = splitWord(rest);
      if (route === "") throw new SwitchyardError("BAD_REQUEST", "usage: watch ROUTE [TYPE]");
      watches.get(route)?.();
      watches.set(route, watchRoute(client, route, typeName.trim(), say));
      say(`watching ${route}`);
    },
    unwatch(rest) {
      const route = rest.trim();
      watches.get(route)?.();
      watches.delete(route);
    },
    routes() {
      say(formatRoutes(client.registry));
    },
    async sleep(rest) {
      const ms = Number(rest.trim());
      if (!Number.isFinite(ms) || ms < 0) throw new SwitchyardError("BAD_REQUEST", "usage: sleep MS");
      await new Promise((r) => setTimeout(r, ms));
    },
    help() {
      say(HELP);
    },
  };

  if (interactive) say(`connected to ${opts.where}; type help for commands`);
  prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) {
      prompt();
      continue;
    }
    const [word, rest] = splitWord(line);
    if (word === "quit" || word === "exit") break;
    const run = commands[word];
    try {
      if (run === undefined) throw new SwitchyardError("BAD_REQUEST", `unknown command "${word}"; type help`);
      await run(rest);
    } catch (err) {
      failed = true;
      errors.write(errorLine(err) + "\n");
    }
    if (client.isClosed) break;
    prompt();
  }
  rl.close();
  await client.close();
  return failed;
}

/** Subscribes to pushes on `route` and prints each one (decoded when the type is known). */
function watchRoute(client: Client, route: string, typeName: string, say: (text: string) => void): Unsubscribe {
  const name = typeName === "" ? route : typeName;
  let codec: MessageCodec<unknown> | null = null;
  try {
    codec = client.registry.message(name);
  } catch {
    if (typeName !== "") throw new SwitchyardError("BAD_REQUEST", `no message type "${typeName}" in ${client.registry.dir}`);
  }
  if (codec === null) {
    return client.onRaw(route, (body) => say(`push ${route} (${body.length} bytes) ${Buffer.from(body).toString("base64")}`));
  }
  const c = codec;
  return client.onRaw(route, (body) => {
    say(`push ${route} ${JSON.stringify(c.toJson(c.decode(body)))}`);
  });
}

/** Splits "word rest of line" at the first run of whitespace. */
function splitWord(text: string): [string, string] {
  const t = text.trim();
  const m = /^(\S+)\s*([\s\S]*)$/.exec(t);
  return m === null ? ["", ""] : [m[1]!, m[2]!];
}

function twoWords(text: string, usage: string): [string, string] {
  const words = text.trim().split(/\s+/);
  if (words.length !== 2 || words[0] === "") throw new SwitchyardError("BAD_REQUEST", `usage: ${usage}`);
  return [words[0]!, words[1]!];
}
