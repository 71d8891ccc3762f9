import type { Redis } from "ioredis";

/** A Lua script registered as an ioredis command: `run(keys, args)` resolves with Redis' reply. */
export type ScriptCommand = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/**
 * Registers `lua` on `redis` as command `name` (ioredis `defineCommand`: EVALSHA, and EVAL
 * once when Redis does not know the script, e.g. after a restart) and returns a typed caller.
 * Registering the same name again on the same client keeps the first definition.
 */
export function scriptCommand(redis: Redis, name: string, numberOfKeys: number, lua: string): ScriptCommand {
  const commands = redis as unknown as Record<string, ((...args: (string | number)[]) => Promise<unknown>) | undefined>;
  if (typeof commands[name] !== "function") redis.defineCommand(name, { numberOfKeys, lua });
  return (keys, args) => commands[name]!.call(redis, ...keys, ...args);
}
