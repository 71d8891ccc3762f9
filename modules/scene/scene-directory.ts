import type { Redis } from "ioredis";
import type { SessionRef } from "../../src/module/index.js";
import { defineRedisCommand } from "../../src/module/redis-command.js";

/**
 * Who owns which scene, and who is in it, in Redis. A scene is owned by the instance holding
 * its lease (`SET NX PX`, renewed by the owner): at most one instance owns a scene at a time,
 * and a dead owner's scenes are free again once `leaseMs` passes. The member list (uid →
 * session) is written on Enter and Leave only, never per move, so the instance that takes over
 * an orphaned scene can tell its former players that everyone disappeared.
 *
 * Keys (prefix `scene:{scene}:`, one hash tag, so the scripts that reach another scene's or
 * player's key run on Redis Cluster too): `owner:<scene>` → instance id (TTL leaseMs);
 * `members:<scene>` hash uid → "<gatewayId> <sid>"; `scenes` set of scenes with an owner or
 * members; `player:<uid>` → the scene it is in.
 */

const PREFIX = "scene:{scene}:";
const ownerKey = (scene: string) => `${PREFIX}owner:${scene}`;
const membersKey = (scene: string) => `${PREFIX}members:${scene}`;
const playerKey = (uid: string) => `${PREFIX}player:${uid}`;
const SCENES = `${PREFIX}scenes`;

/** A former member of a scene whose owner is gone. */
export interface StaleMember {
  readonly uid: string;
  readonly session: SessionRef;
}

/** Outcome of a claim: the owner, and the members left behind when this call took an orphan over. */
export interface ClaimResult {
  readonly owner: string;
  readonly stale: readonly StaleMember[];
}

// KEYS: owner, members, scenes. ARGV: me, leaseMs, scene. Returns {owner, uid1, sess1, …}.
const CLAIM = defineRedisCommand<[owner: string, members: string, scenes: string], [me: string, leaseMs: number, scene: string], string[]>({
  name: "sySceneClaim",
  numberOfKeys: 3,
  lua: `
local owner = redis.call('GET', KEYS[1])
if owner then return {owner} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
local out = {ARGV[1]}
local stale = redis.call('HGETALL', KEYS[2])
for i = 1, #stale, 2 do
  out[#out + 1] = stale[i]
  out[#out + 1] = stale[i + 1]
  if redis.call('GET', '${PREFIX}player:'..stale[i]) == ARGV[3] then redis.call('DEL', '${PREFIX}player:'..stale[i]) end
end
redis.call('DEL', KEYS[2])
return out
`,
});

// KEYS: owner key. ARGV: me, leaseMs. Returns 1 when another instance holds the lease now. A
// lease that merely ran out (a late renewal: nobody took the scene over, its member records are
// intact) is taken again.
const RENEW = defineRedisCommand<[owner: string], [me: string, leaseMs: number], number>({
  name: "sySceneRenew",
  numberOfKeys: 1,
  lua: `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 0 end
if not owner then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 0 end
return 1
`,
});

// KEYS: members, player. ARGV: uid, session, scene. Returns "" when recorded, else the other scene
// the player is in (one with a live owner; a dead owner's record is dropped).
const JOIN = defineRedisCommand<[members: string, player: string], [uid: string, session: string, scene: string], string>({
  name: "sySceneJoin",
  numberOfKeys: 2,
  lua: `
local cur = redis.call('GET', KEYS[2])
if cur and cur ~= ARGV[3] then
  if redis.call('EXISTS', '${PREFIX}owner:'..cur) == 1 then return cur end
  redis.call('HDEL', '${PREFIX}members:'..cur, ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
return ''
`,
});

// KEYS: members, player. ARGV: uid, scene.
const LEAVE = defineRedisCommand<[members: string, player: string], [uid: string, scene: string], number>({
  name: "sySceneLeave",
  numberOfKeys: 2,
  lua: `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
`,
});

// KEYS: owner, members, scenes. ARGV: me, scene. Gives the lease up; forgets an empty scene.
const RELEASE = defineRedisCommand<[owner: string, members: string, scenes: string], [me: string, scene: string], number>({
  name: "sySceneRelease",
  numberOfKeys: 3,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('HLEN', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return 1
`,
});

// KEYS: scenes. Returns scenes with members and no owner; forgets scenes with neither.
const ORPHANS = defineRedisCommand<[scenes: string], [], string[]>({
  name: "sySceneOrphans",
  numberOfKeys: 1,
  lua: `
local out = {}
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', '${PREFIX}owner:'..s) == 0 then
    if redis.call('HLEN', '${PREFIX}members:'..s) == 0 then redis.call('SREM', KEYS[1], s) else out[#out + 1] = s end
  end
end
return out
`,
});

function encodeSession(s: SessionRef): string {
  return `${s.gatewayId} ${s.sid}`;
}

function decodeSession(uid: string, text: string): SessionRef | null {
  const [gatewayId, sid] = text.split(" ");
  const n = Number(sid);
  return gatewayId && Number.isInteger(n) ? { gatewayId, sid: n, uid } : null;
}

/** The scene directory of one instance. */
export class SceneDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly me: string,
    private readonly leaseMs: number,
  ) {}

  /** The scene's owner; when it has none, this instance takes the lease (and the orphan's leftovers). */
  async claim(scene: string): Promise<ClaimResult> {
    const out = (await CLAIM.run(this.redis, [ownerKey(scene), membersKey(scene), SCENES], [this.me, this.leaseMs, scene])) as string[];
    const stale: StaleMember[] = [];
    for (let i = 1; i + 1 < out.length; i += 2) {
      const session = decodeSession(out[i]!, out[i + 1]!);
      if (session !== null) stale.push({ uid: out[i]!, session });
    }
    return { owner: out[0]!, stale };
  }

  /** The owner of a scene, or null. */
  owner(scene: string): Promise<string | null> {
    return this.redis.get(ownerKey(scene));
  }

  /** The scene a player is in (as recorded), or null. */
  sceneOf(uid: string): Promise<string | null> {
    return this.redis.get(playerKey(uid));
  }

  /** Renews (or, when one ran out unclaimed, retakes) the leases of `scenes`; returns those another instance took. */
  async renew(scenes: readonly string[]): Promise<string[]> {
    if (scenes.length === 0) return [];
    // One call per scene (an instance owns a handful; ioredis sends them in one write).
    const lost = await Promise.all(scenes.map((scene) => RENEW.run(this.redis, [ownerKey(scene)], [this.me, this.leaseMs])));
    return scenes.filter((_, i) => lost[i] === 1);
  }

  /** Records a member; returns null, or the other scene the player is in. */
  async join(scene: string, uid: string, session: SessionRef): Promise<string | null> {
    const other = (await JOIN.run(this.redis, [membersKey(scene), playerKey(uid)], [uid, encodeSession(session), scene])) as string;
    return other === "" ? null : other;
  }

  /** Forgets a member. */
  async leave(scene: string, uid: string): Promise<void> {
    await LEAVE.run(this.redis, [membersKey(scene), playerKey(uid)], [uid, scene]);
  }

  /** Gives up the lease of a scene this instance holds no player of. */
  async release(scene: string): Promise<void> {
    await RELEASE.run(this.redis, [ownerKey(scene), membersKey(scene), SCENES], [this.me, scene]);
  }

  /** Scenes whose owner is gone but whose members were never told. */
  async orphans(): Promise<string[]> {
    return (await ORPHANS.run(this.redis, [SCENES], [])) as string[];
  }
}
