import type { Redis } from "ioredis";
import { defineRedisCommand, type ScriptArg } from "../../src/module/redis-command.js";

/**
 * The cluster-wide room directory in Redis: which rooms exist, on which instance, who sits
 * where. Every change of seats runs as one Lua script, so concurrent joins on any number of
 * instances never overfill a room or seat a player twice.
 *
 * Keys (prefix `game:{game}:`): `room:<id>` hash {mode, cap, inst, status, n}; `seats:<id>` hash
 * uid → seat; `open:<mode>` zset of joinable rooms scored by members (the fullest is filled
 * first); `rooms:<mode>` and `inst:<instance>` sets of room ids; `player:<uid>` → room id;
 * `alive:<instance>` liveness key with a TTL; `instances` set of every instance that heartbeat
 * (so a survivor can find the dead ones without a SCAN). Every key carries the hash tag `{game}`: a script
 * follows a player to a room and a room to its players and instance, so the keys it derives from
 * what it reads must share one Redis Cluster slot with the keys it is given.
 */

const PREFIX = "game:{game}:";

/** Keys of the directory, spelled as the Lua helpers below spell them. */
export const GameKeys = {
  room: (id: string) => `${PREFIX}room:${id}`,
  seats: (id: string) => `${PREFIX}seats:${id}`,
  open: (mode: string) => `${PREFIX}open:${mode}`,
  rooms: (mode: string) => `${PREFIX}rooms:${mode}`,
  instance: (instance: string) => `${PREFIX}inst:${instance}`,
  player: (uid: string) => `${PREFIX}player:${uid}`,
  alive: (instance: string) => `${PREFIX}alive:${instance}`,
  instances: () => `${PREFIX}instances`,
} as const;

/** A directory script's reply: a status and its values, or {} (LOCATE: nowhere). */
type DirectoryReply = (string | number)[];

function directoryCommand<Keys extends readonly string[], Args extends readonly [prefix: string, ...ScriptArg[]]>(name: string, numberOfKeys: Keys["length"], lua: string) {
  return defineRedisCommand<Keys, Args, DirectoryReply>({ name, numberOfKeys, lua });
}

/** Where a player sits. */
export interface SeatInfo {
  readonly roomId: string;
  readonly instance: string;
  readonly mode: string;
  readonly capacity: number;
  readonly seat: number;
}

/** Result of a QuickJoin allocation. */
export type QuickJoinResult =
  | { readonly kind: "existing" | "joined" | "created"; readonly roomId: string; readonly instance: string }
  | { readonly kind: "none" };

/** Result of a Join allocation. */
export type JoinResult =
  | { readonly kind: "existing" | "joined"; readonly roomId: string; readonly instance: string }
  | { readonly kind: "elsewhere"; readonly roomId: string }
  | { readonly kind: "missing" | "full" | "closed" };

/** Result of giving up a seat. */
export type LeaveResult = { readonly kind: "absent" } | { readonly kind: "left"; readonly members: number } | { readonly kind: "closed" };

/** A room as the lobby lists it. */
export interface RoomListing {
  readonly roomId: string;
  readonly mode: string;
  readonly capacity: number;
  readonly members: number;
  readonly instance: string;
  readonly status: "open" | "full" | "closed";
}

// Helpers shared by the scripts. p = key prefix.
const COMMON = `
local p = ARGV[1]
local function alive(inst) return inst and redis.call('EXISTS', p..'alive:'..inst) == 1 end
local function destroy(id)
  local rk = p..'room:'..id
  local mode = redis.call('HGET', rk, 'mode')
  local inst = redis.call('HGET', rk, 'inst')
  local seated = redis.call('HKEYS', p..'seats:'..id)
  for _, u in ipairs(seated) do
    if redis.call('GET', p..'player:'..u) == id then redis.call('DEL', p..'player:'..u) end
  end
  redis.call('DEL', rk, p..'seats:'..id)
  if mode then redis.call('ZREM', p..'open:'..mode, id); redis.call('SREM', p..'rooms:'..mode, id) end
  if inst then redis.call('SREM', p..'inst:'..inst, id) end
end
local function unseat(id, uid, reopen)
  local rk = p..'room:'..id
  if redis.call('HDEL', p..'seats:'..id, uid) == 0 then return -1 end
  if redis.call('GET', p..'player:'..uid) == id then redis.call('DEL', p..'player:'..uid) end
  local n = redis.call('HINCRBY', rk, 'n', -1)
  if n <= 0 then destroy(id); return 0 end
  if reopen and redis.call('HGET', rk, 'status') == 'open' then
    redis.call('ZADD', p..'open:'..redis.call('HGET', rk, 'mode'), n, id)
  end
  return n
end
local function seat(id, uid)
  local rk = p..'room:'..id
  local sk = p..'seats:'..id
  local taken = {}
  for _, v in ipairs(redis.call('HVALS', sk)) do taken[tonumber(v)] = true end
  local s = 0
  while taken[s] do s = s + 1 end
  redis.call('HSET', sk, uid, s)
  local n = redis.call('HINCRBY', rk, 'n', 1)
  local mode = redis.call('HGET', rk, 'mode')
  if n >= tonumber(redis.call('HGET', rk, 'cap')) then
    redis.call('ZREM', p..'open:'..mode, id)
  else
    redis.call('ZADD', p..'open:'..mode, n, id)
  end
  redis.call('SET', p..'player:'..uid, id)
  return s
end
-- The player's current room if it still lives on a live instance; a stale seat is dropped.
local function current(uid)
  local cur = redis.call('GET', p..'player:'..uid)
  if not cur then return nil end
  local inst = redis.call('HGET', p..'room:'..cur, 'inst')
  if inst and alive(inst) then return cur, inst end
  if inst then unseat(cur, uid, false) else redis.call('DEL', p..'player:'..uid) end
  return nil
end
`;

// ARGV: p, uid, mode, capacity, newRoomId, instance, allowCreate
const QUICK_JOIN = directoryCommand<[player: string, open: string], [prefix: string, uid: string, mode: string, capacity: number, newRoomId: string, instance: string, allowCreate: string]>("syGameQuickJoin", 2, `${COMMON}
local uid, mode, cap, newId, me, create = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local cur, curInst = current(uid)
if cur then return {'existing', cur, curInst} end
local openKey = p..'open:'..mode
while true do
  local top = redis.call('ZREVRANGE', openKey, 0, 0)
  if #top == 0 then break end
  local id = top[1]
  local rk = p..'room:'..id
  local inst = redis.call('HGET', rk, 'inst')
  if alive(inst) and redis.call('HGET', rk, 'status') == 'open' and tonumber(redis.call('HGET', rk, 'n')) < tonumber(redis.call('HGET', rk, 'cap')) then
    seat(id, uid)
    return {'joined', id, inst}
  end
  redis.call('ZREM', openKey, id)
end
if create ~= '1' then return {'none'} end
redis.call('HSET', p..'room:'..newId, 'mode', mode, 'cap', cap, 'inst', me, 'status', 'open', 'n', 0)
redis.call('SADD', p..'rooms:'..mode, newId)
redis.call('SADD', p..'inst:'..me, newId)
seat(newId, uid)
return {'created', newId, me}
`);

// ARGV: p, uid, roomId
const JOIN = directoryCommand<[player: string, room: string, seats: string], [prefix: string, uid: string, roomId: string]>("syGameJoin", 3, `${COMMON}
local uid, id = ARGV[2], ARGV[3]
local cur, curInst = current(uid)
if cur == id then return {'existing', id, curInst} end
if cur then return {'elsewhere', cur} end
local rk = p..'room:'..id
local inst = redis.call('HGET', rk, 'inst')
if not inst or not alive(inst) then return {'missing'} end
if redis.call('HGET', rk, 'status') ~= 'open' then return {'closed'} end
if tonumber(redis.call('HGET', rk, 'n')) >= tonumber(redis.call('HGET', rk, 'cap')) then return {'full'} end
seat(id, uid)
return {'joined', id, inst}
`);

// ARGV: p, uid, roomId, reopen ('1' when the room may take a new player in the freed seat)
const LEAVE = directoryCommand<[player: string, room: string, seats: string], [prefix: string, uid: string, roomId: string, reopen: string]>("syGameLeave", 3, `${COMMON}
local n = unseat(ARGV[3], ARGV[2], ARGV[4] == '1')
if n < 0 then return {'absent'} end
if n == 0 then return {'closed'} end
return {'left', n}
`);

// ARGV: p, uid → {roomId, inst, mode, cap, seat} or {}
const LOCATE = directoryCommand<[player: string], [prefix: string, uid: string]>("syGameLocate", 1, `${COMMON}
local uid = ARGV[2]
local cur, inst = current(uid)
if not cur then return {} end
local rk = p..'room:'..cur
return {cur, inst, redis.call('HGET', rk, 'mode'), redis.call('HGET', rk, 'cap'), redis.call('HGET', p..'seats:'..cur, uid)}
`);

// ARGV: p, roomId
const DESTROY = directoryCommand<[room: string, seats: string], [prefix: string, roomId: string]>("syGameDestroy", 2, `${COMMON}
destroy(ARGV[2])
return 1
`);

// ARGV: p, instance: every room of the instance takes no new players (draining)
const SEAL_INSTANCE = directoryCommand<[instance: string], [prefix: string, instance: string]>("syGameSealInstance", 1, `${COMMON}
local ids = redis.call('SMEMBERS', p..'inst:'..ARGV[2])
for _, id in ipairs(ids) do
  local rk = p..'room:'..id
  if redis.call('EXISTS', rk) == 1 then
    redis.call('HSET', rk, 'status', 'closed')
    redis.call('ZREM', p..'open:'..redis.call('HGET', rk, 'mode'), id)
  end
end
return #ids
`);

// ARGV: p, instance, force ('1': sweep even if alive — the instance's own previous process).
// Removes every room of a dead instance; replies {roomId, mode, cap, uid, seat, ..., ''} per room.
const SWEEP_INSTANCE = directoryCommand<[instance: string, instances: string], [prefix: string, instance: string, force: string]>("syGameSweepInstance", 2, `${COMMON}
local inst, force = ARGV[2], ARGV[3] == '1'
if not force and alive(inst) then return {} end
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', p..'inst:'..inst)) do
  local rk = p..'room:'..id
  if redis.call('HGET', rk, 'inst') == inst then
    table.insert(out, id)
    table.insert(out, redis.call('HGET', rk, 'mode') or '')
    table.insert(out, redis.call('HGET', rk, 'cap') or '0')
    for _, v in ipairs(redis.call('HGETALL', p..'seats:'..id)) do table.insert(out, v) end
    table.insert(out, '')
    destroy(id)
  end
end
redis.call('DEL', p..'inst:'..inst)
if not force then redis.call('SREM', p..'instances', inst) end
return out
`);

/** A room removed from the directory because its instance died, with who sat in it. */
export interface SweptRoom {
  readonly roomId: string;
  readonly mode: string;
  readonly capacity: number;
  /** Who sat where, by seat. */
  readonly seats: readonly { readonly uid: string; readonly seat: number }[];
}

function sweptRooms(flat: readonly string[]): SweptRoom[] {
  const rooms: SweptRoom[] = [];
  for (let k = 0; k < flat.length; ) {
    const roomId = flat[k]!;
    const mode = flat[k + 1]!;
    const capacity = Number(flat[k + 2]);
    k += 3;
    const seats: { uid: string; seat: number }[] = [];
    for (; k < flat.length && flat[k] !== ""; k += 2) seats.push({ uid: flat[k]!, seat: Number(flat[k + 1]) });
    k++; // the '' that ends the room
    seats.sort((a, b) => a.seat - b.seat);
    rooms.push({ roomId, mode, capacity, seats });
  }
  return rooms;
}

function strings(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map((v) => String(v)) : [];
}

/** Typed access to the directory; one per instance. */
export class RoomDirectory {
  private readonly redis: Redis;

  constructor(redis: Redis) {
    this.redis = redis;
  }

  /** Seats `uid` in the fullest joinable room of `mode`, or opens `newRoomId` on `instance`. */
  async quickJoin(uid: string, mode: string, capacity: number, newRoomId: string, instance: string, allowCreate: boolean): Promise<QuickJoinResult> {
    const r = strings(await QUICK_JOIN.run(this.redis, [GameKeys.player(uid), GameKeys.open(mode)], [PREFIX, uid, mode, capacity, newRoomId, instance, allowCreate ? "1" : "0"]));
    if (r[0] === "none") return { kind: "none" };
    return { kind: r[0] as "existing" | "joined" | "created", roomId: r[1]!, instance: r[2]! };
  }

  /** Seats `uid` in room `roomId` if it exists, is open and has a free seat. */
  async join(uid: string, roomId: string): Promise<JoinResult> {
    const r = strings(await JOIN.run(this.redis, [GameKeys.player(uid), GameKeys.room(roomId), GameKeys.seats(roomId)], [PREFIX, uid, roomId]));
    switch (r[0]) {
      case "existing":
      case "joined":
        return { kind: r[0], roomId: r[1]!, instance: r[2]! };
      case "elsewhere":
        return { kind: "elsewhere", roomId: r[1]! };
      default:
        return { kind: r[0] as "missing" | "full" | "closed" };
    }
  }

  /** Frees the seat of `uid` in `roomId`; an emptied room is removed. */
  async leave(uid: string, roomId: string, reopen: boolean): Promise<LeaveResult> {
    const r = strings(await LEAVE.run(this.redis, [GameKeys.player(uid), GameKeys.room(roomId), GameKeys.seats(roomId)], [PREFIX, uid, roomId, reopen ? "1" : "0"]));
    if (r[0] === "left") return { kind: "left", members: Number(r[1]) };
    return { kind: r[0] as "absent" | "closed" };
  }

  /** Where `uid` sits (null: nowhere, or the room's instance is gone, in which case the seat is dropped). */
  async locate(uid: string): Promise<SeatInfo | null> {
    const r = strings(await LOCATE.run(this.redis, [GameKeys.player(uid)], [PREFIX, uid]));
    if (r.length < 5) return null;
    return { roomId: r[0]!, instance: r[1]!, mode: r[2]!, capacity: Number(r[3]), seat: Number(r[4]) };
  }

  /** Removes a room and every seat in it. */
  async destroy(roomId: string): Promise<void> {
    await DESTROY.run(this.redis, [GameKeys.room(roomId), GameKeys.seats(roomId)], [PREFIX, roomId]);
  }

  /** Closes every room of `instance` to new players; returns how many it holds. */
  async sealInstance(instance: string): Promise<number> {
    return Number(await SEAL_INSTANCE.run(this.redis, [GameKeys.instance(instance)], [PREFIX, instance]));
  }

  /** Marks `instance` alive for `ttlMs` and lists it among the instances a sweep looks at. */
  async heartbeat(instance: string, ttlMs: number): Promise<void> {
    await this.redis.multi().set(GameKeys.alive(instance), "1", "PX", Math.ceil(ttlMs)).sadd(GameKeys.instances(), instance).exec();
  }

  /** Listed instances whose liveness key has lapsed. */
  async deadInstances(): Promise<string[]> {
    const listed = await this.redis.smembers(GameKeys.instances());
    if (listed.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const i of listed) pipe.exists(GameKeys.alive(i));
    const rows = (await pipe.exec()) ?? [];
    return listed.filter((_, k) => rows[k]?.[1] === 0);
  }

  /**
   * Removes every room of `instance` (seats, player keys, listings) if it is dead — or in any
   * case with `force`, for an instance's own rooms left by its previous process — and returns them.
   */
  async sweepInstance(instance: string, force: boolean): Promise<SweptRoom[]> {
    return sweptRooms(strings(await SWEEP_INSTANCE.run(this.redis, [GameKeys.instance(instance), GameKeys.instances()], [PREFIX, instance, force ? "1" : "0"])));
  }

  /** Drops the liveness key of `instance` (it is stopping). */
  async forget(instance: string): Promise<void> {
    await this.redis.del(GameKeys.alive(instance));
  }

  /** Rooms of `mode` on live instances, ordered by id. */
  async list(mode: string): Promise<RoomListing[]> {
    const ids = (await this.redis.smembers(GameKeys.rooms(mode))).sort();
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmget(GameKeys.room(id), "cap", "inst", "status", "n");
    const rows = (await pipe.exec()) ?? [];
    const instances = new Set<string>();
    for (const [, row] of rows) {
      const inst = (row as (string | null)[] | null)?.[1];
      if (inst) instances.add(inst);
    }
    const liveList = [...instances];
    const live = new Set<string>();
    const check = this.redis.pipeline();
    for (const i of liveList) check.exists(GameKeys.alive(i));
    const checked = (await check.exec()) ?? [];
    liveList.forEach((i, k) => {
      if (checked[k]?.[1] === 1) live.add(i);
    });
    const out: RoomListing[] = [];
    rows.forEach(([, row], k) => {
      const [cap, inst, status, n] = (row as (string | null)[] | null) ?? [];
      if (!cap || !inst || !live.has(inst)) return;
      const capacity = Number(cap);
      const members = Number(n);
      out.push({
        roomId: ids[k]!,
        mode,
        capacity,
        members,
        instance: inst,
        status: status !== "open" ? "closed" : members >= capacity ? "full" : "open",
      });
    });
    return out;
  }
}
