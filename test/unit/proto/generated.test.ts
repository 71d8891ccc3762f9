import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../src/config/cluster-config.js";
import { loadProto } from "../../../src/proto/registry.js";
import { ROUTES } from "../../../src/generated/proto.js";

describe("generated proto types", () => {
  it("src/generated/proto.ts matches proto/ (run `npm run build` when this fails)", () => {
    const root = projectRoot();
    expect(() => execFileSync(process.execPath, [join(root, "scripts", "gen-proto.mjs"), "--check"], { stdio: "pipe" })).not.toThrow();
  });

  it("lists exactly the routes the runtime registry loads", () => {
    expect([...ROUTES].sort()).toEqual(loadProto().routes());
  });

  it("JSON input with an unknown field is refused with the known fields named", () => {
    const codec = loadProto().route("login.Login")!;
    expect(() => codec.request.fromJson({ username: "a", pasword: "x" })).toThrow(/no field "pasword".*username, password/);
  });
});

describe("README stays in step with proto/", () => {
  it("documents every route declared by a service", async () => {
    const { readFileSync } = await import("node:fs");
    const readme = readFileSync(join(projectRoot(), "README.md"), "utf8");
    const missing = ROUTES.filter((r) => !readme.includes("`" + r + "`"));
    expect(missing).toEqual([]);
  });
});
