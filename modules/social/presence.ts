import type { services } from "../../src/generated/proto.js";
import type { RuntimeOf } from "../../src/module/index.js";
import type { SocialStore } from "./social-store.js";

/** Push routes of the social module (proto/social.proto, service SocialPush). */
export const SocialPush = {
  friendRequest: "social.FriendRequest",
  friendUpdate: "social.FriendUpdate",
  presence: "social.Presence",
} as const;

type Runtime = RuntimeOf<typeof services.social>;

/**
 * Pushes social.Presence about `uid` to each of its friends that is online (one MGET, one
 * acknowledged push per gateway: kept for the resume of a friend whose gateway just died).
 */
export async function announcePresence(rt: Runtime, store: SocialStore, uid: string, online: boolean): Promise<void> {
  const friends = await store.friendsOf(uid);
  if (friends.length === 0) return;
  await rt.pushToUids(friends, SocialPush.presence, { uid, online });
}

/**
 * Presence follows the online table: a login (sys.session.opened) announces "online"; a session
 * end (sys.session.closed, also published by the gateway sweep for a gateway that died)
 * announces "offline" unless the uid is bound to another session by now (a login elsewhere
 * replaced it).
 */
export function watchPresence(rt: Runtime, store: SocialStore): void {
  const fail = (err: unknown) => rt.log.warn({ err: (err as Error).message }, "presence push failed");
  rt.onSessionOpened("one", (opened) => {
    announcePresence(rt, store, opened.uid, true).catch(fail);
  });
  rt.onSessionClosed("one", (closed) => {
    if (!closed.uid) return;
    void (async () => {
      if (await rt.onlineTable().replacedSince(closed)) return;
      await announcePresence(rt, store, closed.uid, false);
    })().catch(fail);
  });
}
