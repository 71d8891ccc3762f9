import { exists, hasFlag } from "@ioredis/commands";
import { createHash } from "node:crypto";
import type { Command, Redis } from "ioredis";

/** Errors Redis answers before running a command at all: nothing was written. */
const REFUSED = /^(NOREPLICAS|READONLY|NOSCRIPT|OOM|LOADING|MASTERDOWN|NOAUTH|WRONGPASS) /;

/** Every `redis.call(` / `redis.pcall(` of a Lua source, and those naming their command literally. */
const LUA_CALL = /redis\s*\.\s*p?call\s*\(/g;
const LUA_LITERAL_CALL = /redis\s*\.\s*p?call\s*\(\s*(['"])([A-Za-z_|]+)\1/g;

/**
 * Calls `onApplied` each time a command that may write data gets its reply from Redis (an error
 * reply too, unless Redis refused it unrun). A command that failed without a reply (timed out,
 * connection lost) is not counted: its caller was told it failed, so whatever it did later is no
 * acknowledged write; a request that wrote through it failed too. Every command of a client,
 * pipelines and MULTI included, goes through its public `sendCommand`, which this wraps; the only
 * place Switchyard relies on that.
 */
export function trackAppliedWrites(redis: Redis, onApplied: () => void): void {
  const send = redis.sendCommand.bind(redis);
  const scripts = new ScriptKinds();
  redis.sendCommand = (command: Command, ...rest: unknown[]): unknown => {
    const out = (send as (c: Command, ...r: unknown[]) => unknown)(command, ...rest);
    if (scripts.mayWrite(command.name, command.args)) {
      command.promise.then(onApplied, (err: unknown) => {
        if (err instanceof Error && err.name === "ReplyError" && !REFUSED.test(err.message)) onApplied();
      });
    }
    return out;
  };
}

/**
 * Which commands may write: those Redis flags "write", commands this version does not know, and
 * Lua scripts unless their source (seen once through EVAL; EVALSHA of an unseen script counts as
 * a write) calls only read commands, each named literally.
 */
export class ScriptKinds {
  /** SHA1 of a script's source → true when it may write. */
  private readonly bySha = new Map<string, boolean>();

  mayWrite(name: string, args: readonly unknown[]): boolean {
    const lower = name.toLowerCase();
    if (lower === "eval") return this.learn(String(args[0] ?? ""));
    if (lower === "evalsha") return this.bySha.get(String(args[0] ?? "").toLowerCase()) ?? true;
    if (lower === "fcall") return true;
    return !exists(lower) || hasFlag(lower, "write");
  }

  private learn(source: string): boolean {
    const sha = createHash("sha1").update(source).digest("hex");
    let writes = this.bySha.get(sha);
    if (writes === undefined) {
      writes = luaMayWrite(source);
      this.bySha.set(sha, writes);
    }
    return writes;
  }
}

function luaMayWrite(source: string): boolean {
  const calls = source.match(LUA_CALL)?.length ?? 0;
  const literal = [...source.matchAll(LUA_LITERAL_CALL)].map((m) => m[2]!.toLowerCase());
  if (literal.length < calls) return true;
  return literal.some((cmd) => !exists(cmd) || hasFlag(cmd, "write"));
}
