/**
 * The overlap of a move: while a resume takes a session over from a gateway that still holds
 * it, both gateways may be members of the same channels, so a channel message can reach the
 * old session (stored with a seq, then replayed) and the new one (held until the replay). Each
 * publication carries an id (cluster.ChannelMessage.id); a held push whose id is in the replay
 * was delivered by the replay already and is dropped. Pushes without an id (point pushes go to
 * one session only) are always kept.
 */

/** A push held by a session while its resume replays: the unstamped frame and its publication id ("" when none). */
export interface HeldPush {
  frame: Buffer;
  id: string;
}

/** The held pushes, in order, minus those whose publication id is among `replayedIds`. */
export function withoutReplayed(held: readonly HeldPush[], replayedIds: ReadonlySet<string>): HeldPush[] {
  if (replayedIds.size === 0) return [...held];
  return held.filter((h) => h.id === "" || !replayedIds.has(h.id));
}
