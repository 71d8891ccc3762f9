import type { Redis } from "ioredis";

/** A value passed to a Lua script as ARGV. */
export type ScriptArg = string | number;

type ScriptingFunction = (...keysAndArgs: ScriptArg[]) => Promise<unknown>;

/** Lua source of every command defined so far, by name: one name, one script, in the whole process. */
const sources = new Map<string, string>();

/**
 * A Lua script as an ioredis custom command (`redis.defineCommand`). It is defined on a client
 * the first time it runs there; ioredis then calls it by SHA1 (EVALSHA) and sends the source
 * again when Redis has lost it (NOSCRIPT, e.g. after a restart).
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
  return {
    name,
    lua,
    numberOfKeys,
    run(redis, keys, args) {
      if (!definedOn.has(redis)) {
        redis.defineCommand(name, numberOfKeys === "variable" ? { lua } : { numberOfKeys, lua });
        definedOn.add(redis);
      }
      const fn = (redis as unknown as Record<string, ScriptingFunction>)[name]!;
      if (numberOfKeys === "variable") return fn.call(redis, keys.length, ...keys, ...args) as Promise<Reply>;
      return fn.call(redis, ...keys, ...args) as Promise<Reply>;
    },
  };
}
