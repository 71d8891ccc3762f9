import { describe, expect, it } from "vitest";
import { LUA_ENCODE_MEMBER, MAX_SEQ, TIE_DIGITS, encodeMember, memberUid, tieKey } from "../../../modules/rank/tie-break.js";

describe("rank tie-break encoding", () => {
  it("gives fixed-width keys that sort earlier writes higher in byte order", () => {
    const seqs = [1, 2, 9, 10, 11, 99, 100, 12345, 2 ** 40, MAX_SEQ - 1, MAX_SEQ];
    const keys = seqs.map(tieKey);
    for (const k of keys) expect(k).toHaveLength(TIE_DIGITS);
    // ZREVRANGE reads equal scores in descending byte order: earlier seq must come first.
    const desc = [...keys].sort().reverse();
    expect(desc).toEqual(keys);
  });

  it("stays exact within doubles and rejects sequences out of range", () => {
    expect(MAX_SEQ).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(tieKey(MAX_SEQ)).toBe("0".repeat(TIE_DIGITS));
    expect(() => tieKey(0)).toThrow(RangeError);
    expect(() => tieKey(MAX_SEQ + 1)).toThrow(RangeError);
    expect(() => tieKey(1.5)).toThrow(RangeError);
  });

  it("round-trips the uid, whatever it contains", () => {
    for (const uid of ["u1", "u:with:colons", "ü-ñ", ""]) expect(memberUid(encodeMember(7, uid))).toBe(uid);
  });

  it("uses the same format in Lua as in TypeScript", () => {
    expect(LUA_ENCODE_MEMBER).toContain(`%0${TIE_DIGITS}.0f`);
    expect(LUA_ENCODE_MEMBER).toContain(String(MAX_SEQ));
  });
});
