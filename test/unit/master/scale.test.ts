import { describe, expect, it } from "vitest";
import { SwitchyardError } from "../../../src/protocol/errors.js";
import { parseScaleRequest } from "../../../src/master/scale.js";

describe("parseScaleRequest", () => {
  it("accepts a module name and a count", () => {
    expect(parseScaleRequest({ module: "login", instances: 3 })).toEqual({ module: "login", instances: 3 });
    expect(parseScaleRequest({ module: "rank_2", instances: 0 })).toEqual({ module: "rank_2", instances: 0 });
  });

  it.each([undefined, {}, { module: "Login", instances: 1 }, { module: "a.b", instances: 1 }, { module: "login", instances: -1 }, { module: "login", instances: 1.5 }, { module: "login", instances: "2" }])(
    "rejects %j with BAD_REQUEST",
    (body) => {
      expect(() => parseScaleRequest(body)).toThrow(SwitchyardError);
      try {
        parseScaleRequest(body);
      } catch (err) {
        expect((err as SwitchyardError).code).toBe("BAD_REQUEST");
      }
    },
  );
});
