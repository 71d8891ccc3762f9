import type { Redis } from "ioredis";
import { rank } from "../../src/generated/proto.js";
import { defineRedisCommand } from "../../src/module/redis-command.js";
import type { Policy } from "./policy.js";
import { LUA_ENCODE_MEMBER, MAX_SEQ, memberUid } from "./tie-break.js";

/** Which stored season a read looks at. */
export type Which = "cur" | "prev";

/**
 * Redis keys of one board, spelled once. `{board}` is a hash tag, so a board's keys share a
 * cluster slot and its scripts stay valid on Redis Cluster.
 *
 * - `season`: current season number (absent = 1)
 * - `seq`: tie-break counter (see tie-break.ts)
 * - `<cur|prev>:z`: sorted set member → score; `<cur|prev>:m`: hash uid → member
 */
export const RankKeys = {
  season: (board: string) => `sy:rank:{${board}}:season`,
  seq: (board: string) => `sy:rank:{${board}}:seq`,
  scores: (board: string, which: Which) => `sy:rank:{${board}}:${which}:z`,
  members: (board: string, which: Which) => `sy:rank:{${board}}:${which}:m`,
} as const;

// KEYS: scores, members, seq, season. ARGV: uid, score, policy.
// Returns {changed 0|1, score as Redis prints it (exact), 0-based rank, season}.
// "best": a score not above the stored one changes nothing (the earlier arrival keeps its place).
// Read, compare and write happen in one script, so two instances racing cannot lose the best.
const SUBMIT = defineRedisCommand<
  [scores: string, members: string, seq: string, season: string],
  [uid: string, score: string, policy: string],
  [changed: number, score: string, rank0: number, season: number]
>({
  name: "syRankSubmit",
  numberOfKeys: 4,
  lua: `
local uid = ARGV[1]
local score = tonumber(ARGV[2])
local season = tonumber(redis.call('GET', KEYS[4]) or '1')
local old = redis.call('HGET', KEYS[2], uid)
local cur = nil
if old then cur = tonumber(redis.call('ZSCORE', KEYS[1], old)) end
local new = score
if ARGV[3] == '${rank.Policy.POLICY_ACCUMULATE}' then new = (cur or 0) + score end
if cur ~= nil and (new == cur or (ARGV[3] ~= '${rank.Policy.POLICY_ACCUMULATE}' and new < cur)) then
  return {0, redis.call('ZSCORE', KEYS[1], old), redis.call('ZREVRANK', KEYS[1], old), season}
end
local seq = redis.call('INCR', KEYS[3])
if seq > ${MAX_SEQ} then return redis.error_reply('rank: tie-break sequence exhausted') end
local member = ${LUA_ENCODE_MEMBER}
if old then redis.call('ZREM', KEYS[1], old) end
redis.call('ZADD', KEYS[1], new, member)
redis.call('HSET', KEYS[2], uid, member)
return {1, redis.call('ZSCORE', KEYS[1], member), redis.call('ZREVRANK', KEYS[1], member), season}`,
});

// KEYS: scores, members, season. ARGV: uid, k.
// Returns {0-based rank or -1, season, total, first rank of the window, member, score, ...}.
const AROUND = defineRedisCommand<[scores: string, members: string, season: string], [uid: string, k: number], [number, number, number, number, ...string[]]>({
  name: "syRankAround",
  numberOfKeys: 3,
  lua: `
local season = tonumber(redis.call('GET', KEYS[3]) or '1')
local total = redis.call('ZCARD', KEYS[1])
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then return {-1, season, total, 0} end
local r = redis.call('ZREVRANK', KEYS[1], member)
if not r then return {-1, season, total, 0} end
local k = tonumber(ARGV[2])
local first = math.max(0, r - k)
local out = {r, season, total, first}
local window = redis.call('ZREVRANGE', KEYS[1], first, r + k, 'WITHSCORES')
for i = 1, #window do out[#out + 1] = window[i] end
return out`,
});

// KEYS: scores, season. ARGV: n.
// Returns {season, total, member, score, ...}: one command instead of a MULTI of four, which
// costs the client (ioredis: a command object, promise and write each) more than Redis.
const TOP = defineRedisCommand<[scores: string, season: string], [n: number], [season: number, total: number, ...string[]]>({
  name: "syRankTop",
  numberOfKeys: 2,
  lua: `
local season = tonumber(redis.call('GET', KEYS[2]) or '1')
local out = {season, redis.call('ZCARD', KEYS[1])}
local rows = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #rows do out[#out + 1] = rows[i] end
return out`,
});

// KEYS: cur scores, cur members, prev scores, prev members, season.
// The current season becomes the previous one (the one before is dropped); returns the new season.
const RESET = defineRedisCommand<[curScores: string, curMembers: string, prevScores: string, prevMembers: string, season: string], [], number>({
  name: "syRankResetSeason",
  numberOfKeys: 5,
  lua: `
local season = tonumber(redis.call('GET', KEYS[5]) or '1')
redis.call('DEL', KEYS[3], KEYS[4])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[4]) end
redis.call('SET', KEYS[5], season + 1)
return season + 1`,
});

/** One row of a board. */
export interface BoardEntry {
  /** 1-based. */
  rank: number;
  uid: string;
  score: number;
}

/** A slice of a board. */
export interface BoardSlice {
  entries: BoardEntry[];
  /** Season number of the slice; 0 when that season does not exist (no reset yet). */
  season: number;
  total: number;
}

/** Result of a submit. */
export interface SubmitResult {
  changed: boolean;
  score: number;
  /** 1-based. */
  rank: number;
  season: number;
}

/** Season number of `which`, given the current season number. */
function seasonOf(which: Which, current: number): number {
  return which === "cur" ? current : current - 1;
}

/** Rows from `flat` (member, score, member, score …) starting at index `from`. */
function rowsOf(flat: readonly (string | number)[], from: number, firstRank: number): BoardEntry[] {
  const rows: BoardEntry[] = [];
  for (let i = from; i + 1 < flat.length; i += 2) {
    rows.push({ rank: firstRank + (i - from) / 2, uid: memberUid(flat[i] as string), score: Number(flat[i + 1]) });
  }
  return rows;
}

/** The KEYS of the hot scripts of one board, built once per board (not per request). */
interface BoardKeys {
  submit: readonly [string, string, string, string];
  top: { cur: readonly [string, string]; prev: readonly [string, string] };
}

/** Boards whose keys are kept; boards are configured, so this only bounds a misuse. */
const MAX_CACHED_BOARDS = 1024;

/** Leaderboards in Redis sorted sets; every method is one round trip. */
export class BoardStore {
  private readonly keys = new Map<string, BoardKeys>();

  constructor(private readonly redis: Redis) {}

  private keysOf(board: string): BoardKeys {
    let k = this.keys.get(board);
    if (k === undefined) {
      const season = RankKeys.season(board);
      k = {
        submit: [RankKeys.scores(board, "cur"), RankKeys.members(board, "cur"), RankKeys.seq(board), season],
        top: { cur: [RankKeys.scores(board, "cur"), season], prev: [RankKeys.scores(board, "prev"), season] },
      };
      if (this.keys.size < MAX_CACHED_BOARDS) this.keys.set(board, k);
    }
    return k;
  }

  /** Records `score` for `uid` by `policy`, atomically. */
  async submit(board: string, uid: string, score: number, policy: Policy): Promise<SubmitResult> {
    const [changed, stored, rank0, season] = await SUBMIT.run(this.redis, this.keysOf(board).submit, [uid, String(score), String(policy)]);
    return { changed: changed === 1, score: Number(stored), rank: rank0 + 1, season };
  }

  /** The first `n` rows of a season. */
  async top(board: string, n: number, which: Which): Promise<BoardSlice> {
    const reply = await TOP.run(this.redis, this.keysOf(board).top[which], [n]);
    const [current, total] = reply;
    return { entries: rowsOf(reply, 2, 1), season: Math.max(0, seasonOf(which, current)), total };
  }

  /**
   * `uid`'s row and the `k` rows above and below it (k = 0: the row alone). `me` is null and
   * `entries` empty when the player has no score in that season.
   */
  async around(board: string, uid: string, k: number, which: Which): Promise<BoardSlice & { me: BoardEntry | null }> {
    const keys = [RankKeys.scores(board, which), RankKeys.members(board, which), RankKeys.season(board)] as const;
    const reply = await AROUND.run(this.redis, keys, [uid, k]);
    const [rank0, current, total, first] = reply;
    const season = Math.max(0, seasonOf(which, current));
    if (rank0 < 0) return { entries: [], season, total, me: null };
    const entries = rowsOf(reply, 4, first + 1);
    const me = entries.find((e) => e.rank === rank0 + 1) ?? null;
    return { entries, season, total, me };
  }

  /** Closes the current season (readable as "prev" until the next reset); returns the new number. */
  async resetSeason(board: string): Promise<number> {
    const keys = [
      RankKeys.scores(board, "cur"),
      RankKeys.members(board, "cur"),
      RankKeys.scores(board, "prev"),
      RankKeys.members(board, "prev"),
      RankKeys.season(board),
    ] as const;
    return RESET.run(this.redis, keys, []);
  }
}
