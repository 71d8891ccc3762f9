import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { services, type chat } from "../../src/generated/proto.js";
import { startIdGenerator, type IdGenerator } from "../../src/ids/index.js";
import { defineModule, parseGatewaySession, type ContextOf, type RuntimeOf } from "../../src/module/index.js";
import { UsernameCache } from "../shared/username-cache.js";
import { hasAccount, usernamesFromLogin } from "../shared/usernames.js";
import { roomChannel } from "./chat-keys.js";
import { PrivateStore } from "./private-store.js";
import { RoomStore } from "./room-store.js";
import { checkText, countMessage } from "./send-limit.js";
import { ChatSettingsSchema, type ChatSettings } from "./settings.js";
import { pageSize } from "./stream-page.js";

const ROOM_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** Push routes of the chat module (proto/chat.proto, service ChatPush). */
export const ChatPush = {
  room: "chat.RoomMessage",
  private: "chat.PrivateMessage",
} as const;

interface ChatState {
  redis: Redis;
  rooms: RoomStore;
  privates: PrivateStore;
  names: UsernameCache;
  ids: IdGenerator;
  settings: ChatSettings;
}

type Ctx = ContextOf<typeof services.chat, ChatState, ChatSettings>;

function checkRoom(room: string): string {
  if (!ROOM_NAME.test(room)) throw new SwitchyardError("BAD_REQUEST", `room ${JSON.stringify(room.slice(0, 40))} is not a valid name: use 1-32 letters, digits, '_' or '-'`);
  return room;
}

function checkUid(uid: string, field: string): string {
  if (!uid || uid.length > 64) throw new SwitchyardError("BAD_REQUEST", `${field} is required (a uid, as login and social.Friends return them)`);
  return uid;
}

/** Admin routes: trusted callers (modules, `ctl call`) or uids in settings.admins. */
function requireAdmin(ctx: Ctx): void {
  if (ctx.caller !== null) return;
  if (ctx.session?.uid && ctx.state.settings.admins.has(ctx.session.uid)) return;
  throw new SwitchyardError("FORBIDDEN", "this is an admin route: only operators (ctl call) and uids in chat settings.admins may call it");
}

/**
 * Whether `owner` blocked `sender`, asked of social (the block list is social's). A cluster that
 * does not run social (no responder: UNAVAILABLE) has no block lists; any other failure refuses.
 */
async function isBlockedBy(ctx: Ctx, owner: string, sender: string): Promise<boolean> {
  try {
    return (await ctx.call("social.IsBlocked", { owner, other: sender })).blocked;
  } catch (err) {
    if (err instanceof SwitchyardError && err.code === "UNAVAILABLE") return false;
    throw err;
  }
}

async function nameOf(st: ChatState, uid: string): Promise<string> {
  return (await st.names.lookup([uid])).get(uid) ?? "";
}

/**
 * A member whose session ended leaves its rooms, unless the uid is bound to a newer session by
 * now. A session of a dead gateway lives on as an away session of the gateway that adopted it
 * (`successor`): it is taken out of the rooms' channels too, and its resume then says RESYNC.
 */
function leaveRoomsOnClose(rt: RuntimeOf<typeof services.chat>, rooms: RoomStore): void {
  rt.onSessionClosed("one", (closed) => {
    if (!closed.uid) return;
    void (async () => {
      if (await rt.onlineTable().replacedSince(closed)) return;
      const left = await rooms.leaveAll(closed.uid);
      const successor = parseGatewaySession(closed.successor || null);
      if (successor !== null) await Promise.all(left.map((room) => rt.leaveChannel({ ...successor, uid: closed.uid }, roomChannel(room)).catch(() => undefined)));
    })().catch((err: Error) => rt.log.warn({ err: err.message, uid: closed.uid }, "could not take a closed session out of its rooms"));
  });
}

/** Takes a user's session out of a room's channel, wherever it is (best effort: it may be offline). */
async function dropFromChannel(ctx: Ctx, uid: string, room: string): Promise<void> {
  const entry = await ctx.module.onlineTable().lookup(uid);
  if (entry !== null) await ctx.module.leaveChannel({ ...entry, uid }, roomChannel(room)).catch(() => undefined);
}

/**
 * Chat rooms (world chat included) and private messages. Members, history, inboxes and limits
 * are in Redis, so any instance serves any request; a room message is one publish on the room's
 * channel, which every gateway holding a member delivers.
 */
export default defineModule(services.chat, {
  version: "1.0.0",
  settings: ChatSettingsSchema,
  async onStart(rt): Promise<ChatState> {
    const redis = rt.redis();
    const settings = rt.settings;
    const rooms = new RoomStore(redis, settings.worldRoom);
    leaveRoomsOnClose(rt, rooms);
    return {
      redis,
      rooms,
      privates: new PrivateStore(redis, settings),
      names: new UsernameCache(usernamesFromLogin(rt)),
      ids: await startIdGenerator(redis, rt.instanceId, { log: rt.log }),
      settings,
    };
  },
  async onStop(_rt, state) {
    await state.ids.close();
  },
  handlers: {
    async Join(ctx, req) {
      const uid = ctx.requireUid();
      const room = checkRoom(req.room);
      const members = await ctx.state.rooms.join(uid, room, ctx.state.settings.maxRoomsPerUser);
      await ctx.joinChannel(roomChannel(room));
      return { room, members, channel: roomChannel(room) };
    },
    async Leave(ctx, req) {
      const uid = ctx.requireUid();
      const room = checkRoom(req.room);
      if (!(await ctx.state.rooms.leave(uid, room))) throw new SwitchyardError("NOT_FOUND", `you are not a member of room ${room}`);
      await ctx.leaveChannel(roomChannel(room)).catch(() => undefined);
      return {};
    },
    async Rooms(ctx) {
      ctx.requireUid();
      return { rooms: await ctx.state.rooms.list() };
    },
    async Members(ctx, req) {
      ctx.requireUid();
      const room = checkRoom(req.room);
      const page = await ctx.state.rooms.members(room, req.cursor, pageSize(req.limit, 100, ctx.state.settings.maxPageSize));
      const names = await ctx.state.names.lookup(page.uids);
      return { members: page.uids.map((uid) => ({ uid, username: names.get(uid) ?? "" })), cursor: page.cursor };
    },
    async Say(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const room = checkRoom(req.room);
      const text = checkText(req.text, st.settings.maxTextLength);
      const refusal = await st.rooms.speakRefusal(uid, room);
      if (refusal?.code === "not-member") throw new SwitchyardError("FORBIDDEN", `you are not a member of room ${room}: chat.Join it first`);
      if (refusal?.code === "muted") {
        const left = refusal.ms < 0 ? "" : ` for ${Math.ceil(refusal.ms / 1000)} more s`;
        throw new SwitchyardError("FORBIDDEN", `you are muted in room ${room}${left}`);
      }
      await countMessage(st.redis, uid, st.settings.maxMessagesPerWindow, st.settings.rateWindowSeconds);
      const msg: chat.RoomMessage = { id: st.ids.next(), room, fromUid: uid, fromUsername: await nameOf(st, uid), text, sentAt: Date.now() };
      await st.rooms.append(msg, st.settings.historyLength);
      ctx.module.publish(roomChannel(room), ChatPush.room, msg, [uid]);
      return { id: msg.id, sentAt: msg.sentAt, seq: 0 };
    },
    async History(ctx, req) {
      ctx.requireUid();
      const room = checkRoom(req.room);
      const page = await ctx.state.rooms.history(room, req.before, pageSize(req.limit, 50, ctx.state.settings.maxPageSize));
      return { messages: page.items, before: page.before };
    },
    async Tell(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const to = checkUid(req.toUid, "to_uid");
      if (to === uid) throw new SwitchyardError("BAD_REQUEST", "you cannot send a private message to yourself");
      const text = checkText(req.text, st.settings.maxTextLength);
      const [exists, blocked] = await Promise.all([hasAccount(st.names, to), isBlockedBy(ctx, to, uid)]);
      if (!exists) throw new SwitchyardError("NOT_FOUND", `no user has uid ${JSON.stringify(to)}: check the uid`);
      // Neutral: the sender is not told that it was blocked.
      if (blocked) throw new SwitchyardError("FORBIDDEN", "you cannot send private messages to this user");
      await countMessage(st.redis, uid, st.settings.maxMessagesPerWindow, st.settings.rateWindowSeconds);
      const stored = { id: st.ids.next(), fromUid: uid, fromUsername: await nameOf(st, uid), toUid: to, text, sentAt: Date.now() };
      const seq = await st.privates.deliver(stored);
      await ctx.module.pushToUid(to, ChatPush.private, { ...stored, seq });
      return { id: stored.id, sentAt: stored.sentAt, seq };
    },
    async Inbox(ctx, req) {
      const uid = ctx.requireUid();
      const limit = pageSize(req.limit, ctx.state.settings.maxPageSize, ctx.state.settings.maxPageSize);
      return ctx.state.privates.inbox(uid, req.afterSeq, limit);
    },
    async Ack(ctx, req) {
      const uid = ctx.requireUid();
      return { remaining: await ctx.state.privates.ack(uid, req.upToSeq) };
    },
    async Conversation(ctx, req) {
      const uid = ctx.requireUid();
      const other = checkUid(req.withUid, "with_uid");
      const page = await ctx.state.privates.conversation(uid, other, req.before, pageSize(req.limit, 50, ctx.state.settings.maxPageSize));
      return { messages: page.items, before: page.before };
    },
    async Mute(ctx, req) {
      requireAdmin(ctx);
      const room = checkRoom(req.room);
      const uid = checkUid(req.uid, "uid");
      if (req.seconds < 1) throw new SwitchyardError("BAD_REQUEST", "seconds is required: how long the mute lasts (1 or more)");
      await ctx.state.rooms.mute(room, uid, req.seconds);
      ctx.log.info({ room, uid, seconds: req.seconds }, "user muted");
      return {};
    },
    async Unmute(ctx, req) {
      requireAdmin(ctx);
      await ctx.state.rooms.unmute(checkRoom(req.room), checkUid(req.uid, "uid"));
      return {};
    },
    async Ban(ctx, req) {
      requireAdmin(ctx);
      const room = checkRoom(req.room);
      const uid = checkUid(req.uid, "uid");
      await ctx.state.rooms.ban(room, uid, req.seconds);
      await dropFromChannel(ctx, uid, room);
      ctx.log.info({ room, uid, seconds: req.seconds }, "user banned from room");
      return {};
    },
    async Unban(ctx, req) {
      requireAdmin(ctx);
      await ctx.state.rooms.unban(checkRoom(req.room), checkUid(req.uid, "uid"));
      return {};
    },
  },
});
