import { SwitchyardError } from "../../src/protocol/errors.js";
import { services, social } from "../../src/generated/proto.js";
import { defineModule, z, type ContextOf } from "../../src/module/index.js";
import { UsernameCache } from "../shared/username-cache.js";
import { hasAccount, usernamesFromLogin } from "../shared/usernames.js";
import { SocialPush, watchPresence } from "./presence.js";
import { SocialStore, whoBlocked } from "./social-store.js";

const positive = z.number().int().min(1);

/** modules.social.settings, with their defaults. */
const SocialSettings = z
  .object({
    /** Friends one user may have. */
    maxFriends: positive.default(200),
    /** Pending requests one user may have sent, and may have received. */
    maxPendingRequests: positive.default(50),
    /** Uids one social.Presence call may ask about. */
    maxPresenceQuery: positive.max(1000).default(100),
  })
  .strict();
type SocialSettings = z.output<typeof SocialSettings>;

interface SocialState {
  store: SocialStore;
  names: UsernameCache;
  settings: SocialSettings;
}

type Ctx = ContextOf<typeof services.social, SocialState, SocialSettings>;

/** The other user of a request: required, not the caller, an existing account. */
async function otherUser(ctx: Ctx, uid: string, what: string): Promise<string> {
  if (!uid) throw new SwitchyardError("BAD_REQUEST", `uid is required: name the user to ${what}`);
  if (uid === ctx.session?.uid) throw new SwitchyardError("BAD_REQUEST", `you cannot ${what} yourself`);
  if (uid.length > 64 || !(await hasAccount(ctx.state.names, uid))) throw new SwitchyardError("NOT_FOUND", `no user has uid ${JSON.stringify(uid.slice(0, 64))}: check the uid`);
  return uid;
}

async function nameOf(st: SocialState, uid: string): Promise<string> {
  return (await st.names.lookup([uid])).get(uid) ?? "";
}

async function describe(ctx: Ctx, uids: string[], online: boolean): Promise<social.Friend[]> {
  const [names, entries] = await Promise.all([ctx.state.names.lookup(uids), online ? ctx.module.onlineTable().lookupMany(uids) : Promise.resolve([])]);
  return uids.map((uid, i) => ({ uid, username: names.get(uid) ?? "", online: online && entries[i] !== null }));
}

async function update(ctx: Ctx, to: string, kind: social.UpdateKind): Promise<void> {
  const me = ctx.requireUid();
  await ctx.module.pushToUid(to, SocialPush.friendUpdate, { uid: me, username: await nameOf(ctx.state, me), kind });
}

/**
 * Friends (request, accept, decline, remove), a block list and presence. State is in Redis and
 * each change to two users is one script, so any instance serves any request; presence pushes
 * come from the cluster's session events (one instance handles each).
 */
export default defineModule(services.social, {
  version: "1.0.0",
  settings: SocialSettings,
  onStart(rt): SocialState {
    const redis = rt.redis();
    const store = new SocialStore(redis, rt.settings);
    watchPresence(rt, store);
    return { store, names: new UsernameCache(usernamesFromLogin(rt)), settings: rt.settings };
  },
  handlers: {
    async Request(ctx, req) {
      const me = ctx.requireUid();
      const other = await otherUser(ctx, req.uid, "ask to be friends");
      const r = await ctx.state.store.request(me, other);
      if (r === "accepted") {
        await update(ctx, other, social.UpdateKind.UPDATE_ACCEPTED);
        return { uid: other, kind: social.RelationKind.RELATION_FRIEND };
      }
      await ctx.module.pushToUid(other, SocialPush.friendRequest, { fromUid: me, fromUsername: await nameOf(ctx.state, me), sentAt: Date.now() });
      return { uid: other, kind: social.RelationKind.RELATION_REQUESTED };
    },
    async Accept(ctx, req) {
      const me = ctx.requireUid();
      const other = await otherUser(ctx, req.uid, "accept");
      await ctx.state.store.accept(me, other);
      await update(ctx, other, social.UpdateKind.UPDATE_ACCEPTED);
      return { uid: other, kind: social.RelationKind.RELATION_FRIEND };
    },
    async Decline(ctx, req) {
      const me = ctx.requireUid();
      const other = await otherUser(ctx, req.uid, "decline");
      await ctx.state.store.decline(me, other);
      await update(ctx, other, social.UpdateKind.UPDATE_DECLINED);
      return { uid: other, kind: social.RelationKind.RELATION_NONE };
    },
    async Remove(ctx, req) {
      const me = ctx.requireUid();
      const other = await otherUser(ctx, req.uid, "remove");
      if ((await ctx.state.store.remove(me, other)) === "removed") await update(ctx, other, social.UpdateKind.UPDATE_REMOVED);
      return { uid: other, kind: social.RelationKind.RELATION_NONE };
    },
    async Block(ctx, req) {
      const me = ctx.requireUid();
      const other = await otherUser(ctx, req.uid, "block");
      // The blocked user hears only what a plain Remove would tell: the friendship ended.
      if (await ctx.state.store.block(me, other)) await update(ctx, other, social.UpdateKind.UPDATE_REMOVED);
      return { uid: other, kind: social.RelationKind.RELATION_BLOCKED };
    },
    async Unblock(ctx, req) {
      const me = ctx.requireUid();
      const other = await otherUser(ctx, req.uid, "unblock");
      await ctx.state.store.unblock(me, other);
      return { uid: other, kind: await ctx.state.store.relation(me, other) };
    },
    async Friends(ctx) {
      const me = ctx.requireUid();
      const u = await ctx.state.store.friendUids(me);
      const [friends, incoming, outgoing] = await Promise.all([describe(ctx, u.friends, true), describe(ctx, u.incoming, false), describe(ctx, u.outgoing, false)]);
      return { friends, incoming, outgoing };
    },
    async Blocked(ctx) {
      return { uids: await ctx.state.store.blocked(ctx.requireUid()) };
    },
    async IsBlocked(ctx, req) {
      ctx.requireCaller();
      if (!req.owner || !req.other) throw new SwitchyardError("BAD_REQUEST", "social.IsBlocked needs owner and other uids");
      return { blocked: await ctx.state.store.hasBlocked(req.owner, req.other) };
    },
    async Presence(ctx, req) {
      ctx.requireUid();
      const max = ctx.state.settings.maxPresenceQuery;
      if (req.uids.length > max) throw new SwitchyardError("BAD_REQUEST", `social.Presence takes at most ${max} uids, got ${req.uids.length}: ask in several calls`);
      const me = ctx.session?.uid ?? "";
      // A user who blocked the caller looks offline to it, whatever it is.
      const [entries, blockedMe] = await Promise.all([ctx.module.onlineTable().lookupMany(req.uids), whoBlocked(ctx.module.redis(), req.uids, me)]);
      return { entries: req.uids.map((uid, i) => ({ uid, online: entries[i] !== null && !blockedMe[i] })) };
    },
  },
});
