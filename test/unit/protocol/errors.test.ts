import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MESSAGES, ErrorCode, SwitchyardError, codeName } from "../../../src/protocol/errors.js";
import { projectRoot } from "../../../src/config/cluster-config.js";

const codes = Object.entries(ErrorCode).filter(([name]) => name !== "OK");

describe("error codes", () => {
  it("every wire code has a default message that says what to do", () => {
    expect(Object.keys(DEFAULT_MESSAGES).sort()).toEqual(codes.map(([n]) => n).sort());
    for (const msg of Object.values(DEFAULT_MESSAGES)) expect(msg).toMatch(/: /);
  });

  it("round-trips code numbers and names; unknown numbers become INTERNAL", () => {
    for (const [name, n] of codes) {
      const e = SwitchyardError.fromWire(n, "");
      expect(e.code).toBe(name);
      expect(e.codeNumber).toBe(n);
      expect(e.message).toBe(DEFAULT_MESSAGES[name as keyof typeof DEFAULT_MESSAGES]);
    }
    expect(codeName(999)).toBe("INTERNAL");
  });

  it("keeps the cause of a wrapped error", () => {
    const cause = new Error("disk on fire");
    const e = SwitchyardError.from(cause);
    expect(e.code).toBe("INTERNAL");
    expect(e.cause).toBe(cause);
  });

  it("README documents every code with its number", () => {
    const readme = readFileSync(join(projectRoot(), "README.md"), "utf8");
    for (const [name, n] of codes) expect(readme).toMatch(new RegExp("\\| `" + name + "` \\| " + n + " \\|"));
  });
});
