import type { login } from "../../src/generated/proto.js";

/** Usernames of uids as a map, "" for a uid with no account. */
export type UsernameLookup = (uids: readonly string[]) => Promise<Map<string, string>>;

/** A module runtime, as far as asking login goes (trusted call, for no session). */
export interface LoginCaller {
  call(route: "login.Usernames", req: { uids: string[] }): Promise<login.UsernamesReply>;
}

/**
 * Usernames through login's module-only route `login.Usernames` (one call however many uids):
 * accounts belong to login, no other module reads its Redis keys.
 */
export function usernamesFromLogin(rt: LoginCaller): UsernameLookup {
  return async (uids) => {
    const out = new Map<string, string>();
    if (uids.length === 0) return out;
    const { usernames } = await rt.call("login.Usernames", { uids: [...uids] });
    uids.forEach((uid, i) => out.set(uid, usernames[i] ?? ""));
    return out;
  };
}

/** Whether `uid` has an account, asked through `names` (login.Usernames answers "" for none). */
export async function hasAccount(names: { lookup: UsernameLookup }, uid: string): Promise<boolean> {
  return ((await names.lookup([uid])).get(uid) ?? "") !== "";
}
