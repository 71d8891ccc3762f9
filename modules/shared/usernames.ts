import type { Redis } from "ioredis";
import { LoginKeys } from "../login/accounts.js";

/**
 * Usernames of uids, read from the login module's account hashes in one pipeline (one round
 * trip however many uids). Unknown uids map to "".
 */
export async function usernamesOf(redis: Redis, uids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (uids.length === 0) return out;
  const pipe = redis.pipeline();
  for (const uid of uids) pipe.hget(LoginKeys.account(uid), "username");
  const replies = (await pipe.exec()) ?? [];
  uids.forEach((uid, i) => {
    const value = replies[i]?.[1];
    out.set(uid, typeof value === "string" ? value : "");
  });
  return out;
}

/** True when an account with this uid exists. */
export async function accountExists(redis: Redis, uid: string): Promise<boolean> {
  return (await redis.exists(LoginKeys.account(uid))) === 1;
}
