import { describe, expect, it } from "vitest";
import { rank } from "../../../src/generated/proto.js";
import { parsePolicies, policyOf } from "../../../modules/rank/policy.js";

describe("rank board policies", () => {
  it("defaults to best and reads per-board policies", () => {
    const p = parsePolicies({ boards: { tictactoe: "accumulate", speedrun: "best" } });
    expect(policyOf(p, "tictactoe")).toBe(rank.Policy.POLICY_ACCUMULATE);
    expect(policyOf(p, "speedrun")).toBe(rank.Policy.POLICY_BEST);
    expect(policyOf(p, "other")).toBe(rank.Policy.POLICY_BEST);
    expect(policyOf(parsePolicies({}), "x")).toBe(rank.Policy.POLICY_BEST);
  });

  it("takes a configured default", () => {
    expect(policyOf(parsePolicies({ defaultPolicy: "accumulate" }), "x")).toBe(rank.Policy.POLICY_ACCUMULATE);
  });

  it("names the bad key and the valid values", () => {
    expect(() => parsePolicies({ boards: { a: "sum" } })).toThrow(/boards\.a.*"best", "accumulate"/);
    expect(() => parsePolicies({ boards: { "bad name": "best" } })).toThrow(/board name/);
    expect(() => parsePolicies({ boards: ["x"] })).toThrow(/object/);
    expect(() => parsePolicies({ defaultPolicy: "toString" })).toThrow(/defaultPolicy/);
  });
});
