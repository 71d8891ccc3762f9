/**
 * Ties on a board are broken by who got there first, with a secondary structure instead of
 * packing time into the score:
 *
 * - The sorted-set score is the player's real score, untouched, so any finite double (negative,
 *   fractional, > 2^32) is stored and compared exactly. Packing `score * 2^k + (MAX_TS - ts)`
 *   into one double would leave 53 - k bits for the score (a 41-bit millisecond clock leaves
 *   12 bits: scores up to 4095), which an "accumulate" board outgrows quickly.
 * - The sorted-set member is `<tie key>:<uid>`, where the tie key is a fixed-width decimal
 *   `MAX_SEQ - seq` and `seq` comes from a per-board counter incremented (INCR) in the same Lua
 *   script that writes the score. Redis orders equal scores by member bytes, and ZREVRANGE /
 *   ZREVRANK read that order backwards, so the larger tie key (the smaller seq: the earlier
 *   arrival) ranks first. A counter rather than a clock: instances' clocks may disagree, one
 *   Redis counter cannot.
 * - A hash uid → member finds a player's member in O(1); both are updated in one script.
 */

/** Digits of a tie key; 15 keeps MAX_SEQ (10^15 - 1) below 2^53, exact in Lua's doubles. */
export const TIE_DIGITS = 15;

/** Largest sequence number a board can hand out (about 31 years at a million submits/s). */
export const MAX_SEQ = 10 ** TIE_DIGITS - 1;

/** The tie key of the seq-th write to a board: later writes sort lower (byte order). */
export function tieKey(seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new RangeError(`seq must be an integer in 1..${MAX_SEQ}, got ${seq}`);
  return String(MAX_SEQ - seq).padStart(TIE_DIGITS, "0");
}

/** The sorted-set member of `uid` written as the seq-th write. */
export function encodeMember(seq: number, uid: string): string {
  return `${tieKey(seq)}:${uid}`;
}

/** The uid inside a sorted-set member. */
export function memberUid(member: string): string {
  return member.slice(TIE_DIGITS + 1);
}

/** The same encoding as {@link encodeMember}, for Lua (the seq is INCR's result there). */
export const LUA_ENCODE_MEMBER = `string.format('%0${TIE_DIGITS}.0f', ${MAX_SEQ} - seq) .. ':' .. uid`;
