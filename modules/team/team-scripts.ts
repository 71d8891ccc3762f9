import { defineRedisCommand, type ScriptArg } from "../../src/module/redis-command.js";
import { LUA_KEYS } from "./team-keys.js";

/** What every team script answers: a status ('ok' or a refusal) and its values. */
export type TeamReply = [string, ...(string | number)[]];

/** KEYS of a team script: the caller's `of` key first (it routes the script to its slot). */
export type CallerKeys = [callerOf: string];

function teamCommand<Keys extends readonly string[], Args extends readonly ScriptArg[]>(name: string, numberOfKeys: Keys["length"], lua: string) {
  return defineRedisCommand<Keys, Args, TeamReply>({ name, numberOfKeys, lua });
}

// Every script answers {status, ...}: 'ok' or a refusal ('in_team', 'no_team', 'not_found',
// 'not_invited', 'full', 'not_leader', 'not_member', 'self', 'member'); team-store.ts maps them.

/** Shared Lua helpers: remove one member; delete a team and every membership of it. */
const HELPERS = `${LUA_KEYS}
local function remove(id, uid)
  redis.call('ZREM', mkey(id), uid)
  redis.call('HDEL', jkey(id), uid)
  if redis.call('GET', ofkey(uid)) == id then redis.call('DEL', ofkey(uid)) end
end
local function destroy(id)
  local members = redis.call('ZRANGE', mkey(id), 0, -1)
  for _, u in ipairs(members) do
    if redis.call('GET', ofkey(u)) == id then redis.call('DEL', ofkey(u)) end
  end
  redis.call('DEL', tkey(id), mkey(id), jkey(id), ikey(id))
  return members
end
-- The caller's team id, or nil (a stale 'of' key of a vanished team is dropped).
local function teamOf(uid)
  local id = redis.call('GET', ofkey(uid))
  if id and redis.call('EXISTS', tkey(id)) == 0 then
    redis.call('DEL', ofkey(uid))
    return nil
  end
  return id
end
`;

/** ARGV: uid, id, name, capacity, open ("1"/"0"), now. */
export const CREATE = teamCommand<CallerKeys, [uid: string, id: string, name: string, capacity: number, open: string, now: number]>("syTeamCreate", 1, `${HELPERS}
local uid, id = ARGV[1], ARGV[2]
local cur = teamOf(uid)
if cur then return {'in_team', cur} end
redis.call('HSET', tkey(id), 'name', ARGV[3], 'leader', uid, 'capacity', ARGV[4], 'open', ARGV[5], 'created', ARGV[6], 'seq', 1)
redis.call('ZADD', mkey(id), 1, uid)
redis.call('HSET', jkey(id), uid, ARGV[6])
redis.call('SET', ofkey(uid), id)
return {'ok', id}`);

/**
 * ARGV: uid, id, now. The capacity check and the insert are one step: concurrent joins through
 * any number of instances can never overfill a team.
 */
export const JOIN = teamCommand<[callerOf: string, team: string, members: string, joined: string, invites: string], [uid: string, id: string, now: number]>("syTeamJoin", 5, `${HELPERS}
local uid, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', tkey(id)) == 0 then return {'not_found', id} end
local cur = teamOf(uid)
if cur == id then return {'member', id} end
if cur then return {'in_team', cur} end
if redis.call('HGET', tkey(id), 'open') ~= '1' then
  local exp = redis.call('HGET', ikey(id), uid)
  if not exp or tonumber(exp) < now then return {'not_invited', id} end
end
local cap = tonumber(redis.call('HGET', tkey(id), 'capacity'))
local n = redis.call('ZCARD', mkey(id))
if n >= cap then return {'full', id, cap} end
local seq = redis.call('HINCRBY', tkey(id), 'seq', 1)
redis.call('ZADD', mkey(id), seq, uid)
redis.call('HSET', jkey(id), uid, ARGV[3])
redis.call('HDEL', ikey(id), uid)
redis.call('SET', ofkey(uid), id)
return {'ok', id, n + 1}`);

/**
 * ARGV: uid. A leaving leader hands over to the longest-standing member (lowest join
 * sequence) in the same step; the last member leaving deletes the team. So no moment exists
 * where a team has members but no leader. Returns {'ok', id, leader after, members left,
 * disbanded 0|1, handed over 0|1}.
 */
export const LEAVE = teamCommand<CallerKeys, [uid: string]>("syTeamLeave", 1, `${HELPERS}
local uid = ARGV[1]
local id = teamOf(uid)
if not id then return {'no_team'} end
local leader = redis.call('HGET', tkey(id), 'leader')
remove(id, uid)
local n = redis.call('ZCARD', mkey(id))
if n == 0 then
  destroy(id)
  return {'ok', id, '', 0, 1, 0}
end
if leader == uid then
  leader = redis.call('ZRANGE', mkey(id), 0, 0)[1]
  redis.call('HSET', tkey(id), 'leader', leader)
  return {'ok', id, leader, n, 0, 1}
end
return {'ok', id, leader, n, 0, 0}`);

/** Checks shared by leader-only scripts; ARGV[1] is the caller, ARGV[2] the target member. */
const LEADER_AND_TARGET = `
local uid, target = ARGV[1], ARGV[2]
local id = teamOf(uid)
if not id then return {'no_team'} end
local leader = redis.call('HGET', tkey(id), 'leader')
if leader ~= uid then return {'not_leader', id, leader} end
if target ~= nil and not redis.call('ZSCORE', mkey(id), target) then return {'not_member', id} end
`;

/** ARGV: leader uid, member uid. */
export const KICK = teamCommand<CallerKeys, [leader: string, member: string]>("syTeamKick", 1, `${HELPERS}${LEADER_AND_TARGET}
if target == uid then return {'self', id} end
remove(id, target)
return {'ok', id, redis.call('ZCARD', mkey(id))}`);

/** ARGV: leader uid, member uid. */
export const TRANSFER = teamCommand<CallerKeys, [leader: string, member: string]>("syTeamTransfer", 1, `${HELPERS}${LEADER_AND_TARGET}
redis.call('HSET', tkey(id), 'leader', target)
return {'ok', id, redis.call('ZCARD', mkey(id))}`);

/** ARGV: leader uid. Returns the former members (to take them out of the channel). */
export const DISBAND = teamCommand<CallerKeys, [leader: string]>("syTeamDisband", 1, `${HELPERS}${LEADER_AND_TARGET}
local out = {'ok', id}
for _, u in ipairs(destroy(id)) do out[#out + 1] = u end
return out`);

/** ARGV: inviter uid, invitee uid, expiry (ms). Any member may invite while the team has room. */
export const INVITE = teamCommand<CallerKeys, [inviter: string, invitee: string, expiresAt: number, record: string]>("syTeamInvite", 1, `${HELPERS}
local uid, invitee = ARGV[1], ARGV[2]
local id = teamOf(uid)
if not id then return {'no_team'} end
if redis.call('ZSCORE', mkey(id), invitee) then return {'member', id} end
local cap = tonumber(redis.call('HGET', tkey(id), 'capacity'))
if redis.call('ZCARD', mkey(id)) >= cap then return {'full', id, cap} end
if ARGV[4] == '1' then redis.call('HSET', ikey(id), invitee, ARGV[3]) end
return {'ok', id, redis.call('HGET', tkey(id), 'name')}`);
