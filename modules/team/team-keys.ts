/**
 * Prefix of every team key a script touches. `{team}` is a hash tag: a script changes a team and
 * its members' `of` keys in one atomic step, so all of them share one Redis Cluster slot.
 */
const PREFIX = "sy:team:{team}:";

/**
 * Redis keys of the team module, spelled once; scripts get them through KEYS.
 *
 * - `team(id)`: hash name, leader, capacity, open ("1"/"0"), created (ms), seq (join counter)
 * - `members(id)`: sorted set uid → join sequence (lowest = longest-standing)
 * - `joined(id)`: hash uid → joined-at (ms)
 * - `invites(id)`: hash uid → invitation expiry (ms)
 * - `of(uid)`: the uid's team id; its existence is what makes "at most one team" hold
 * - `inviteCount(uid)`: invitations sent by uid in the current window (expires with it; no script
 *   reads it, so it has no tag)
 */
export const TeamKeys = {
  team: (id: string) => `${PREFIX}t:${id}`,
  members: (id: string) => `${PREFIX}t:${id}:members`,
  joined: (id: string) => `${PREFIX}t:${id}:joined`,
  invites: (id: string) => `${PREFIX}t:${id}:invites`,
  of: (uid: string) => `${PREFIX}of:${uid}`,
  inviteCount: (uid: string) => `sy:team:invites-sent:${uid}`,
} as const;

/** Name of a team's channel: team events and chat are published there. */
export function teamChannel(id: string): string {
  return `team-${id}`;
}
