import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { alive, type CliProcess, ctl, ctlStatus, loggedIn, startEchoLoad, startOpsCluster, stopOpsCluster, until, writeEchoVersion } from "../helpers/ops.js";

describe("ctl rollout under continuous load", () => {
  let dir: string;
  let master: CliProcess;
  let config: string;
  let client: Client;
  const pids = new Set<number>();

  beforeAll(async () => {
    const ops = await startOpsCluster("sy-ops-rollout-", {
      modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 2, ordered: false } },
    }, pids);
    dir = ops.dir;
    master = ops.master;
    config = ops.config;
    client = await loggedIn(ops.gwPort, "roller");
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients: [client] }));

  it("replaces both echo instances by 2.0.0 with zero failed requests", async () => {
    const before = (await ctlStatus(config)).instances.filter((r) => r.module === "echo");
    expect(before.map((r) => r.version)).toEqual(["1.0.0", "1.0.0"]);
    for (const r of before) pids.add(r.pid!);
    const file = writeEchoVersion(join(dir, "echo-v2.js"), "2.0.0");

    const load = startEchoLoad(client, 8);
    await until("load to flow", 10_000, async () => (load.samples.length >= 50 ? true : undefined));
    const res = await ctl(config, ["rollout", "echo", "--from", file]);
    const rolledAt = Date.now();
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^rolled out echo: 2 instances replaced in \d+\.\d s\n/);
    for (const old of before) expect(res.stdout).toMatch(new RegExp(`  ${old.instance} v1\\.0\\.0 -> echo-[0-9a-f]{4} v2\\.0\\.0 \\(echo/\\d, host .+\\); old one drained\\n`));
    // Keep the load going after the rollout until a few hundred more requests were answered.
    const atRollout = load.samples.length;
    await until("requests after the rollout", 15_000, async () => (load.samples.length >= atRollout + 200 ? true : undefined));
    const samples = await load.stop();

    const failed = samples.filter((s) => !s.ok);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    const during = samples.filter((s) => s.sentAt < rolledAt);
    expect(new Set(during.map((s) => s.version))).toEqual(new Set(["1.0.0", "2.0.0"]));
    const after = samples.filter((s) => s.sentAt >= rolledAt);
    expect(after.length).toBeGreaterThanOrEqual(150);
    expect(after.filter((s) => s.version !== "2.0.0")).toEqual([]);
    expect(after.some((s) => before.some((b) => b.instance === s.servedBy))).toBe(false);

    const now = await ctlStatus(config);
    const echo = now.instances.filter((r) => r.module === "echo");
    expect(echo.map((r) => [r.version, r.state, r.supervised])).toEqual([
      ["2.0.0", "ready", true],
      ["2.0.0", "ready", true],
    ]);
    for (const old of before) expect(alive(old.pid!)).toBe(false);
    for (const r of echo) pids.add(r.pid!);
    // Later respawns and scale-ups use the rolled-out code.
    const up = await ctl(config, ["scale", "echo", "3"]);
    expect(up.code).toBe(0);
    const three = (await ctlStatus(config)).instances.filter((r) => r.module === "echo");
    expect(three.map((r) => r.version)).toEqual(["2.0.0", "2.0.0", "2.0.0"]);
    for (const r of three) pids.add(r.pid!);
  }, 60_000);
});
