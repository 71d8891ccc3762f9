import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireBuild, startCli, writeOpsConfig } from "../helpers/ops.js";

describe("module settings are checked by each module's schema before anything starts", () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-settings-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('`"admins": "u1"` for login stops `start` with exit 1, naming modules.login.settings.admins', async () => {
    requireBuild();
    const { path } = await writeOpsConfig(dir, "bad-admins", {
      modules: { login: { instances: 1, settings: { admins: "u1" } }, team: { instances: 1, settings: { maxCapacity: 0 } } },
    });
    const master = startCli(["start", "--config", path]);
    const code = await master.exited;
    const stderr = master.stderr.join("");
    expect(code).toBe(1);
    expect(stderr).toContain("modules.login.settings.admins: Invalid input: expected array, received string");
    // every problem is listed at once, not only the first one
    expect(stderr).toContain("modules.team.settings.maxCapacity");
    // nothing was started: the master said nothing about servers or instances
    expect(master.lines.join("\n")).not.toMatch(/ready|started embedded server/);
  });

  it("a wrong cluster key stops `start --config FILE` with exit 1, naming every key path and what it expects", async () => {
    requireBuild();
    const { path } = await writeOpsConfig(dir, "bad-cluster", { nats: { urll: "nats://x" }, gateway: { maxFrameBytes: 0 } });
    const master = startCli(["start", "--config", path]);
    const code = await master.exited;
    const stderr = master.stderr.join("");
    expect(code).toBe(1);
    expect(stderr).toContain(`${path}: nats.urll: unknown key (expected one of: url,`);
    expect(stderr).toContain("gateway.maxFrameBytes: Too small: expected number to be >=1");
    expect(master.lines.join("\n")).not.toMatch(/ready|started embedded server/);
  });
});
