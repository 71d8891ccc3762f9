import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** One page of a stream read backwards: the decoded entries and the cursor of the next page. */
export interface StreamPage<T> {
  items: T[];
  /** Pass as `before` for the next (older) page; "" when there is none. */
  before: string;
}

/**
 * Reads up to `limit` entries older than `before` ("" = the newest), newest first. The cursor is
 * the stream id of the oldest entry returned, so pages stay stable while new messages arrive.
 */
export async function readBackwards<T>(redis: Redis, key: string, before: string, limit: number): Promise<StreamPage<T>> {
  if (before !== "" && !STREAM_ID.test(before)) {
    throw new SwitchyardError("BAD_REQUEST", `cursor ${JSON.stringify(before.slice(0, 40))} is not one this server returned: pass "" or the \`before\` of the previous page`);
  }
  const entries = await redis.xrevrange(key, before === "" ? "+" : `(${before}`, "-", "COUNT", limit + 1);
  const page = entries.slice(0, limit);
  const items = page.map(([, fields]) => JSON.parse(fields[1] ?? "{}") as T);
  return { items, before: entries.length > limit ? (page[page.length - 1]?.[0] ?? "") : "" };
}

/** A page size: 0 means `fallback`; above `max` is refused. */
export function pageSize(limit: number, fallback: number, max: number): number {
  if (limit === 0) return Math.min(fallback, max);
  if (limit > max) throw new SwitchyardError("BAD_REQUEST", `limit ${limit} is above the largest page (${max}): ask for ${max} or fewer and page on`);
  return limit;
}
