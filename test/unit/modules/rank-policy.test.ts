import { describe, expect, it } from "vitest";
import { rank } from "../../../src/generated/proto.js";
import { boardOf, parsePolicies } from "../../../modules/rank/policy.js";

describe("rank board policies", () => {
  it("reads per-board policies; the string shorthand takes no client submits; other boards do not exist", () => {
    const p = parsePolicies({ boards: { tictactoe: "accumulate", speedrun: "best" } });
    expect(boardOf(p, "tictactoe")).toEqual({ policy: rank.Policy.POLICY_ACCUMULATE, clientSubmit: null });
    expect(boardOf(p, "speedrun")).toEqual({ policy: rank.Policy.POLICY_BEST, clientSubmit: null });
    expect(boardOf(p, "other")).toBeUndefined();
    expect(boardOf(parsePolicies({}), "x")).toBeUndefined();
  });

  it("reads the object form with client submit bounds", () => {
    const p = parsePolicies({ boards: { arcade: { policy: "best", clientSubmit: { min: 0, max: 1_000_000 } }, plain: {} } });
    expect(boardOf(p, "arcade")).toEqual({ policy: rank.Policy.POLICY_BEST, clientSubmit: { min: 0, max: 1_000_000 } });
    expect(boardOf(p, "plain")).toEqual({ policy: rank.Policy.POLICY_BEST, clientSubmit: null });
  });

  it("names the bad key and the valid values", () => {
    expect(() => parsePolicies({ boards: { a: "sum" } })).toThrow(/boards\.a.*"best", "accumulate"/);
    expect(() => parsePolicies({ boards: { "bad name": "best" } })).toThrow(/board name/);
    expect(() => parsePolicies({ boards: ["x"] })).toThrow(/object/);
    expect(() => parsePolicies({ boards: { a: { policy: "toString" } } })).toThrow(/boards\.a\.policy/);
    expect(() => parsePolicies({ boards: { a: { clientSubmit: { min: 5, max: 1 } } } })).toThrow(/boards\.a\.clientSubmit.*min <= max/);
    expect(() => parsePolicies({ boards: { a: { clientSubmit: { min: 0, max: Infinity } } } })).toThrow(/clientSubmit/);
    expect(() => parsePolicies({ boards: { a: { clientSubmit: true } } })).toThrow(/clientSubmit/);
    expect(() => parsePolicies({ boards: { a: { polcy: "best" } } })).toThrow(/boards\.a\.polcy is not a setting/);
    expect(() => parsePolicies({ defaultPolicy: "best" })).toThrow(/defaultPolicy/);
  });
});
