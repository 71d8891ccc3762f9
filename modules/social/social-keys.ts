/**
 * Prefix of every social key in Redis. `{social}` is a hash tag: a script changes both users'
 * friends, requests and blocks in one step, so every social key shares one Redis Cluster slot.
 */
const PREFIX = "sy:social:{social}:";

/**
 * Redis keys of the social module, spelled once; scripts get them through KEYS (the chat module
 * asks `social.IsBlocked` to refuse private messages from blocked users).
 *
 * - `friends(uid)`: set of the uid's friends (always symmetric: a is in b's set iff b is in a's)
 * - `incoming(uid)`: hash requester uid → request time (ms)
 * - `outgoing(uid)`: hash receiver uid → request time (ms)
 * - `blocks(uid)`: set of uids the uid blocked
 */
export const SocialKeys = {
  friends: (uid: string) => `${PREFIX}friends:${uid}`,
  incoming: (uid: string) => `${PREFIX}incoming:${uid}`,
  outgoing: (uid: string) => `${PREFIX}outgoing:${uid}`,
  blocks: (uid: string) => `${PREFIX}blocks:${uid}`,
} as const;
