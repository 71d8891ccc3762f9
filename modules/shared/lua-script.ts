import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A Lua script run atomically by Redis, sent once and then called by its SHA1 (EVALSHA); it is
 * sent again (EVAL) when Redis answers NOSCRIPT, e.g. after a restart flushed its script cache.
 */
export class LuaScript {
  /** SHA1 of the source, as Redis names the cached script. */
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  /** Runs the script with KEYS and ARGV; resolves with Redis' reply. */
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
