import type { Redis } from "ioredis";

/** A value passed to a Lua script as ARGV. */
export type ScriptArg = string | number;

type ScriptingFunction = (...keysAndArgs: ScriptArg[]) => Promise<unknown>;

/** Lua source of every command defined so far, by name: one name, one script, in the whole process. */
const sources = new Map<string, string>();
/** How to define each declared command on a client (see defineDeclaredRedisCommands). */
const definers: ((redis: Redis) => void)[] = [];

/**
 * A Lua script as an ioredis custom command (`redis.defineCommand`). A module's client gets every
 * command declared so far when it is made (defineDeclaredRedisCommands); one declared later is
 * defined the first time it runs there. ioredis then calls it by SHA1 (EVALSHA) and sends the
 * source again when Redis has lost it (NOSCRIPT, e.g. after a restart).
 *
 * `Keys` and `Args` type the call's KEYS and ARGV, `Reply` what the script returns. A script
 * reads and writes only the keys it is given in KEYS (see the key policy in README → Development).
 */
export interface RedisCommand<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply> {
  /** The command's name on the client (unique in the process). */
  readonly name: string;
  readonly lua: string;
  /** How many KEYS a call passes; "variable": each call passes its own count (keys.length). */
  readonly numberOfKeys: Keys["length"] | "variable";
  /** Runs the script on `redis` with `keys` as KEYS and `args` as ARGV; resolves with its reply. */
  run(redis: Redis, keys: Readonly<Keys>, args: Readonly<Args>): Promise<Reply>;
}

/** Names of every command declared so far in this process (for tests that must run each one). */
export function declaredRedisCommandNames(): string[] {
  return [...sources.keys()];
}

/**
 * Defines every command declared so far on `redis`, before its first command. With
 * auto-pipelining (see client-factory.ts) a pipeline made earlier in the same turn would lack a
 * command defined after it (ioredis 5.9: "pipeline[name] is not a function", replies misaligned).
 */
export function defineDeclaredRedisCommands(redis: Redis): void {
  for (const define of definers) define(redis);
}

/** Declares a Lua script as a typed command; see {@link RedisCommand}. */
export function defineRedisCommand<Keys extends readonly string[], Args extends readonly ScriptArg[], Reply>(spec: {
  name: string;
  numberOfKeys: Keys["length"] | "variable";
  lua: string;
}): RedisCommand<Keys, Args, Reply> {
  const { name, numberOfKeys, lua } = spec;
  const known = sources.get(name);
  if (known !== undefined && known !== lua) throw new Error(`redis command ${name} is defined twice with different scripts: give one of them another name`);
  sources.set(name, lua);
  const definedOn = new WeakSet<Redis>();
  /** Clients this command was defined on while an auto-pipeline of theirs was pending. */
  const lateOn = new WeakSet<Redis>();
  const define = (redis: Redis): void => {
    if (definedOn.has(redis)) return;
    redis.defineCommand(name, numberOfKeys === "variable" ? { lua } : { numberOfKeys, lua });
    definedOn.add(redis);
    if (redis.autoPipelineQueueSize > 0) lateOn.add(redis);
  };
  definers.push(define);
  return {
    name,
    lua,
    numberOfKeys,
    run(redis, keys, args) {
      define(redis);
      if (lateOn.has(redis)) {
        // A pending auto-pipeline predates the definition and lacks the command (see
        // defineDeclaredRedisCommands): plain EVAL until none of those is left.
        const n = numberOfKeys === "variable" ? keys.length : numberOfKeys;
        if (redis.autoPipelineQueueSize > 0) return redis.eval(lua, n, ...keys, ...args) as Promise<Reply>;
        lateOn.delete(redis);
      }
      const fn = (redis as unknown as Record<string, ScriptingFunction>)[name]!;
      if (numberOfKeys === "variable") return fn.call(redis, keys.length, ...keys, ...args) as Promise<Reply>;
      return fn.call(redis, ...keys, ...args) as Promise<Reply>;
    },
  };
}
