import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { ChatKeys } from "./chat-keys.js";

/**
 * Counts a user's messages in a fixed window kept in Redis (so every instance counts the same
 * window) and refuses the one past the limit with RATE_LIMITED and the wait.
 */
export async function countMessage(redis: Redis, uid: string, max: number, windowSeconds: number): Promise<void> {
  const key = ChatKeys.sendCount(uid);
  const replies = await redis.multi().incr(key).pexpire(key, windowSeconds * 1000, "NX").pttl(key).exec();
  const count = Number(replies?.[0]?.[1] ?? 0);
  if (count <= max) return;
  const waitMs = Math.max(Number(replies?.[2]?.[1] ?? 0), 1);
  throw new SwitchyardError("RATE_LIMITED", `you sent ${max} messages in ${windowSeconds} s: wait ${Math.ceil(waitMs / 1000)} s before sending again`);
}

/** The text of a message, or BAD_REQUEST when it is empty or too long. */
export function checkText(text: string, maxLength: number): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new SwitchyardError("BAD_REQUEST", "message text is empty: send 1 or more characters");
  if ([...trimmed].length > maxLength) throw new SwitchyardError("BAD_REQUEST", `message text is ${[...trimmed].length} characters long; at most ${maxLength} are allowed`);
  return trimmed;
}
