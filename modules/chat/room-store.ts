import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import type { chat } from "../../src/generated/proto.js";
import { defineRedisCommand } from "../../src/module/redis-command.js";
import { ChatKeys as K } from "./chat-keys.js";
import { readBackwards, type StreamPage } from "./stream-page.js";

// The room leaves the list with its last member, in the same step, so a Join racing it cannot be
// lost from the list. Answers the members left, or -1 when uid was not a member.
const LEAVE = defineRedisCommand<[members: string, joined: string, rooms: string], [uid: string, room: string, worldRoom: string], number>({
  name: "syChatLeave",
  numberOfKeys: 3,
  lua: `
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('SREM', KEYS[2], ARGV[2])
local left = redis.call('SCARD', KEYS[1])
if left == 0 and ARGV[2] ~= ARGV[3] then redis.call('SREM', KEYS[3], ARGV[2]) end
return left`,
});

/** Why a user may not speak in a room, or null. */
export type SpeakRefusal = { code: "not-member" } | { code: "muted"; ms: number } | null;

/** Rooms in Redis: members, history, mutes and bans. */
export class RoomStore {
  constructor(
    private readonly redis: Redis,
    private readonly worldRoom: string,
  ) {}

  /** Adds uid to room; refuses a banned user and one already in `maxRooms` other rooms. Returns the member count. */
  async join(uid: string, room: string, maxRooms: number): Promise<number> {
    const [banTtl, isMember, rooms] = await Promise.all([this.redis.pttl(K.ban(room, uid)), this.redis.sismember(K.members(room), uid), this.redis.scard(K.joined(uid))]);
    if (banTtl !== -2) {
      const until = banTtl === -1 ? "until an admin lifts the ban" : `for ${Math.ceil(banTtl / 1000)} more s`;
      throw new SwitchyardError("FORBIDDEN", `you are banned from room ${room} ${until}`);
    }
    if (isMember === 0 && rooms >= maxRooms) throw new SwitchyardError("RATE_LIMITED", `you are in ${rooms} rooms, the most allowed: chat.Leave one first`);
    const replies = await this.redis.multi().sadd(K.members(room), uid).sadd(K.joined(uid), room).sadd(K.rooms, room).scard(K.members(room)).exec();
    return Number(replies?.[3]?.[1] ?? 0);
  }

  /** Removes uid from room; false when it was not a member. */
  async leave(uid: string, room: string): Promise<boolean> {
    const n = await LEAVE.run(this.redis, [K.members(room), K.joined(uid), K.rooms], [uid, room, this.worldRoom]);
    return n >= 0;
  }

  /** Removes uid from every room it is in; returns those rooms. */
  async leaveAll(uid: string): Promise<string[]> {
    const rooms = await this.redis.smembers(K.joined(uid));
    await Promise.all(rooms.map((room) => this.leave(uid, room)));
    return rooms;
  }

  async isMember(uid: string, room: string): Promise<boolean> {
    return (await this.redis.sismember(K.members(room), uid)) === 1;
  }

  /** Membership and mute of uid in room, in one round trip. */
  async speakRefusal(uid: string, room: string): Promise<SpeakRefusal> {
    const replies = await this.redis.pipeline().sismember(K.members(room), uid).pttl(K.mute(room, uid)).exec();
    if (Number(replies?.[0]?.[1]) !== 1) return { code: "not-member" };
    const muteTtl = Number(replies?.[1]?.[1]);
    if (muteTtl !== -2) return { code: "muted", ms: muteTtl };
    return null;
  }

  /** Appends a message to the room's history (trimmed to about `keep` entries). */
  async append(msg: chat.RoomMessage, keep: number): Promise<void> {
    await this.redis.xadd(K.history(msg.room), "MAXLEN", "~", keep, "*", "m", JSON.stringify(msg));
  }

  history(room: string, before: string, limit: number): Promise<StreamPage<chat.RoomMessage>> {
    return readBackwards<chat.RoomMessage>(this.redis, K.history(room), before, limit);
  }

  /** Rooms with members (and the world room) with their member counts, largest first. */
  async list(): Promise<chat.RoomSummary[]> {
    const names = new Set(await this.redis.smembers(K.rooms));
    names.add(this.worldRoom);
    const rooms = [...names];
    const pipe = this.redis.pipeline();
    for (const r of rooms) pipe.scard(K.members(r));
    const counts = (await pipe.exec()) ?? [];
    return rooms.map((room, i) => ({ room, members: Number(counts[i]?.[1] ?? 0) })).sort((a, b) => b.members - a.members || a.room.localeCompare(b.room));
  }

  async memberCount(room: string): Promise<number> {
    return this.redis.scard(K.members(room));
  }

  /** One page of members (SSCAN: about `limit` uids; the cursor is Redis' own). */
  async members(room: string, cursor: string, limit: number): Promise<{ uids: string[]; cursor: string }> {
    if (cursor !== "" && !/^\d{1,20}$/.test(cursor)) throw new SwitchyardError("BAD_REQUEST", `cursor ${JSON.stringify(cursor.slice(0, 40))} is not one this server returned: pass "" or the cursor of the previous page`);
    const [next, uids] = await this.redis.sscan(K.members(room), cursor === "" ? "0" : cursor, "COUNT", limit);
    return { uids, cursor: next === "0" ? "" : next };
  }

  async mute(room: string, uid: string, seconds: number): Promise<void> {
    await this.redis.set(K.mute(room, uid), "1", "EX", seconds);
  }

  async unmute(room: string, uid: string): Promise<boolean> {
    return (await this.redis.del(K.mute(room, uid))) === 1;
  }

  /** Bans uid from room (0 s: until unbanned) and removes it from the room. */
  async ban(room: string, uid: string, seconds: number): Promise<void> {
    if (seconds > 0) await this.redis.set(K.ban(room, uid), "1", "EX", seconds);
    else await this.redis.set(K.ban(room, uid), "1");
    await this.leave(uid, room);
  }

  async unban(room: string, uid: string): Promise<boolean> {
    return (await this.redis.del(K.ban(room, uid))) === 1;
  }
}
