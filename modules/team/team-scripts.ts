import { defineRedisCommand, type ScriptArg } from "../../src/module/redis-command.js";

/** What every team script answers: a status ('ok', a refusal, or 'retry') and its values. */
export type TeamReply = [string, ...(string | number)[]];

/**
 * KEYS every team script starts with: the caller's `of` key, then the keys of one team (the
 * caller's as read just before, or the one named by the request). A script only touches keys it
 * is given; when the caller's membership changed since it was read, it answers 'retry'.
 */
export type TeamScriptKeys = [callerOf: string, team: string, members: string, joined: string, invites: string];

/** ARGV every team script starts with: the caller's uid and the team id of the keys ("" for none). */
type TeamScriptArgs = [uid: string, keyed: string];

function teamCommand<Keys extends readonly string[], Args extends readonly ScriptArg[]>(name: string, numberOfKeys: Keys["length"] | "variable", lua: string) {
  return defineRedisCommand<Keys, Args, TeamReply>({ name, numberOfKeys, lua });
}

// Every script answers {status, ...}: 'ok' or a refusal ('in_team', 'no_team', 'not_found',
// 'not_invited', 'full', 'not_leader', 'not_member', 'self', 'member'), or 'retry' (the caller's
// team is not the one its keys were read for); team-store.ts maps them.

/** Shared Lua helpers over the given keys. */
const HELPERS = `
local OF, T, M, J, I = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local uid, keyed = ARGV[1], ARGV[2]
-- Takes a member out of the keyed team; ofKey is that member's 'of' key.
local function remove(member, ofKey)
  redis.call('ZREM', M, member)
  redis.call('HDEL', J, member)
  if redis.call('GET', ofKey) == keyed then redis.call('DEL', ofKey) end
end
-- The caller's team id; nil without one (a stale 'of' of a vanished team is dropped); false when
-- it is not the keyed team (the caller's membership changed since it was read: retry).
local function callerTeam()
  local id = redis.call('GET', OF)
  if not id then return nil end
  if id ~= keyed then return false end
  if redis.call('EXISTS', T) == 0 then
    redis.call('DEL', OF)
    return nil
  end
  return id
end
`;

/** For Create and Join: the caller's current team (KEYS[6] its team key), nil when none or vanished. */
const CURRENT = `
local cur = redis.call('GET', OF)
if cur and cur ~= ARGV[2] then return {'retry'} end
if cur and redis.call('EXISTS', KEYS[6]) == 0 then
  redis.call('DEL', OF)
  cur = nil
end
`;

/**
 * KEYS: caller's of, the new team's keys, the caller's current team key. ARGV: uid, current
 * team id (""), new id, name, capacity, open ("1"/"0"), now.
 */
export const CREATE = teamCommand<
  [...TeamScriptKeys, currentTeam: string],
  [...TeamScriptArgs, id: string, name: string, capacity: number, open: string, now: number]
>("syTeamCreate", 6, `
local OF, T, M, J = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
${CURRENT}
if cur then return {'in_team', cur} end
local uid, id = ARGV[1], ARGV[3]
redis.call('HSET', T, 'name', ARGV[4], 'leader', uid, 'capacity', ARGV[5], 'open', ARGV[6], 'created', ARGV[7], 'seq', 1)
redis.call('ZADD', M, 1, uid)
redis.call('HSET', J, uid, ARGV[7])
redis.call('SET', OF, id)
return {'ok', id}`);

/**
 * KEYS: caller's of, the joined team's keys, the caller's current team key. ARGV: uid, current
 * team id (""), id, now. The capacity check and the insert are one step: concurrent joins through
 * any number of instances can never overfill a team.
 */
export const JOIN = teamCommand<[...TeamScriptKeys, currentTeam: string], [...TeamScriptArgs, id: string, now: number]>("syTeamJoin", 6, `
local OF, T, M, J, I = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local uid, id, now = ARGV[1], ARGV[3], tonumber(ARGV[4])
if redis.call('EXISTS', T) == 0 then return {'not_found', id} end
${CURRENT}
if cur == id then return {'member', id} end
if cur then return {'in_team', cur} end
if redis.call('HGET', T, 'open') ~= '1' then
  local exp = redis.call('HGET', I, uid)
  if not exp or tonumber(exp) < now then return {'not_invited', id} end
end
local cap = tonumber(redis.call('HGET', T, 'capacity'))
local n = redis.call('ZCARD', M)
if n >= cap then return {'full', id, cap} end
local seq = redis.call('HINCRBY', T, 'seq', 1)
redis.call('ZADD', M, seq, uid)
redis.call('HSET', J, uid, ARGV[4])
redis.call('HDEL', I, uid)
redis.call('SET', OF, id)
return {'ok', id, n + 1}`);

/**
 * ARGV: uid, team id. A leaving leader hands over to the longest-standing member (lowest join
 * sequence) in the same step; the last member leaving deletes the team. So no moment exists
 * where a team has members but no leader. Returns {'ok', id, leader after, members left,
 * disbanded 0|1, handed over 0|1}.
 */
export const LEAVE = teamCommand<TeamScriptKeys, TeamScriptArgs>("syTeamLeave", 5, `${HELPERS}
local id = callerTeam()
if id == false then return {'retry'} end
if not id then return {'no_team'} end
local leader = redis.call('HGET', T, 'leader')
remove(uid, OF)
local n = redis.call('ZCARD', M)
if n == 0 then
  redis.call('DEL', T, M, J, I)
  return {'ok', id, '', 0, 1, 0}
end
if leader == uid then
  leader = redis.call('ZRANGE', M, 0, 0)[1]
  redis.call('HSET', T, 'leader', leader)
  return {'ok', id, leader, n, 0, 1}
end
return {'ok', id, leader, n, 0, 0}`);

/** Checks shared by leader-only scripts; ARGV[3] is the target member (if any). */
const LEADER_AND_TARGET = `
local target = ARGV[3]
local id = callerTeam()
if id == false then return {'retry'} end
if not id then return {'no_team'} end
local leader = redis.call('HGET', T, 'leader')
if leader ~= uid then return {'not_leader', id, leader} end
if target ~= nil and not redis.call('ZSCORE', M, target) then return {'not_member', id} end
`;

/** KEYS: as every script, then the member's of. ARGV: leader uid, team id, member uid. */
export const KICK = teamCommand<[...TeamScriptKeys, memberOf: string], [...TeamScriptArgs, member: string]>("syTeamKick", 6, `${HELPERS}${LEADER_AND_TARGET}
if target == uid then return {'self', id} end
remove(target, KEYS[6])
return {'ok', id, redis.call('ZCARD', M)}`);

/** ARGV: leader uid, team id, member uid. */
export const TRANSFER = teamCommand<TeamScriptKeys, [...TeamScriptArgs, member: string]>("syTeamTransfer", 5, `${HELPERS}${LEADER_AND_TARGET}
redis.call('HSET', T, 'leader', target)
return {'ok', id, redis.call('ZCARD', M)}`);

/**
 * KEYS: as every script, then the of key of each member as read before (same order as ARGV[3..]).
 * ARGV: leader uid, team id, the members. 'retry' when the members changed since they were read.
 * Returns the former members (to take them out of the channel).
 */
export const DISBAND = teamCommand<string[], string[]>("syTeamDisband", "variable", `${HELPERS}
local id = callerTeam()
if id == false then return {'retry'} end
if not id then return {'no_team'} end
local leader = redis.call('HGET', T, 'leader')
if leader ~= uid then return {'not_leader', id, leader} end
local members = redis.call('ZRANGE', M, 0, -1)
if #members ~= #ARGV - 2 then return {'retry'} end
for i, u in ipairs(members) do
  if ARGV[i + 2] ~= u then return {'retry'} end
end
for i = 6, #KEYS do
  if redis.call('GET', KEYS[i]) == id then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', T, M, J, I)
local out = {'ok', id}
for _, u in ipairs(members) do out[#out + 1] = u end
return out`);

/** ARGV: inviter uid, team id, invitee uid, expiry (ms), record ("1"/"0"). Any member may invite while the team has room. */
export const INVITE = teamCommand<TeamScriptKeys, [...TeamScriptArgs, invitee: string, expiresAt: number, record: string]>("syTeamInvite", 5, `${HELPERS}
local invitee = ARGV[3]
local id = callerTeam()
if id == false then return {'retry'} end
if not id then return {'no_team'} end
if redis.call('ZSCORE', M, invitee) then return {'member', id} end
local cap = tonumber(redis.call('HGET', T, 'capacity'))
if redis.call('ZCARD', M) >= cap then return {'full', id, cap} end
if ARGV[5] == '1' then redis.call('HSET', I, invitee, ARGV[4]) end
return {'ok', id, redis.call('HGET', T, 'name')}`);
