import { describe, expect, it } from "vitest";
import { rank } from "../../../src/generated/proto.js";
import rankModule from "../../../modules/rank/index.js";
import { boardOf, policiesOf, type RankSettings } from "../../../modules/rank/policy.js";
import type { ClusterConfig } from "../../../src/config/cluster-config.js";
import { parseModuleSettings } from "../../../src/module/index.js";

/** The module's own schema over `settings`, as the host and the master apply it. */
function parsePolicies(settings: unknown) {
  const config = { modules: { rank: { instances: 1, settings } } } as unknown as ClusterConfig;
  return policiesOf(parseModuleSettings(rankModule, config) as RankSettings);
}

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
    expect(() => parsePolicies({ boards: { a: "sum" } })).toThrow(/modules\.rank\.settings\.boards\.a:/);
    expect(() => parsePolicies({ boards: { "bad name": "best" } })).toThrow(/a board name is 1-64/);
    expect(() => parsePolicies({ boards: ["x"] })).toThrow(/modules\.rank\.settings\.boards: .*expected record/);
    expect(() => parsePolicies({ boards: { a: { policy: "toString" } } })).toThrow(/boards\.a/);
    expect(() => parsePolicies({ boards: { a: { clientSubmit: { min: 5, max: 1 } } } })).toThrow(/boards\.a/);
    expect(() => parsePolicies({ boards: { a: { clientSubmit: { min: 0, max: Infinity } } } })).toThrow(/clientSubmit/);
    expect(() => parsePolicies({ boards: { a: { clientSubmit: true } } })).toThrow(/clientSubmit/);
    expect(() => parsePolicies({ boards: { a: { polcy: "best" } } })).toThrow(/boards\.a/);
    expect(() => parsePolicies({ defaultPolicy: "best" })).toThrow(/modules\.rank\.settings\.defaultPolicy: Unrecognized key/);
  });
});
