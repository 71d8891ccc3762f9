import type { Redis } from "ioredis";
import { defineRedisCommand } from "./redis-command.js";

/** Where a user's session lives: gateway id and session id. */
export interface OnlineEntry {
  gatewayId: string;
  sid: number;
}

const KEY_PREFIX = "sy:online:";

// Deletes the entry only if it still names the given session, so a late "session closed" of
// an old session never removes the entry of the newer one.
const RELEASE_IF_OWNER = defineRedisCommand<[entryKey: string], [entry: string], number>({
  name: "syOnlineReleaseIfOwner",
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`,
});

function encode(e: OnlineEntry): string {
  return `${e.gatewayId}/${e.sid}`;
}

function decode(v: string | null): OnlineEntry | null {
  if (v === null) return null;
  const slash = v.lastIndexOf("/");
  if (slash <= 0) return null;
  return { gatewayId: v.slice(0, slash), sid: Number(v.slice(slash + 1)) };
}

/**
 * The cluster-wide online table in Redis: uid → the one session bound to it. Claiming is a
 * single atomic SET … GET, so of two racing logins exactly one sees the other as previous
 * owner and evicts it; there is never a moment where both believe they are the only one.
 */
export class OnlineTable {
  constructor(private readonly redis: Redis) {}

  /** Makes `entry` the uid's session; returns the session it replaced, if any. */
  async claim(uid: string, entry: OnlineEntry): Promise<OnlineEntry | null> {
    const prev = (await this.redis.call("SET", KEY_PREFIX + uid, encode(entry), "GET")) as string | null;
    return decode(prev);
  }

  /** Removes the uid's entry if it still names `entry`; true when removed. */
  async release(uid: string, entry: OnlineEntry): Promise<boolean> {
    const n = await RELEASE_IF_OWNER.run(this.redis, [KEY_PREFIX + uid], [encode(entry)]);
    return n === 1;
  }

  /** The uid's session, or null when offline. */
  async lookup(uid: string): Promise<OnlineEntry | null> {
    return decode(await this.redis.get(KEY_PREFIX + uid));
  }
}
