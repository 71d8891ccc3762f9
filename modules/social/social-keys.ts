/** Prefix of every social key in Redis. */
const PREFIX = "sy:social:";

/**
 * Redis keys of the social module, spelled once (the chat module reads `blocks` to refuse
 * private messages from blocked users).
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
