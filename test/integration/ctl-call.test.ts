import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/config/cluster-config.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import loginModule from "../../modules/login/index.js";

const bin = join(projectRoot(), "bin", "switchyard.js");

function ctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, "ctl", ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

describe("ctl call: operator calls to module routes (admin rights, no client session)", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({ modules: [{ def: loginModule, instances: 1 }] });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("bans a player (who is kicked) and switches maintenance mode, printing each reply as JSON", async () => {
    const { client, uid } = await cluster.loggedInClient("griefer");
    const kicked = new Promise<string>((resolve) => client.onKick((_code, message) => resolve(message)));
    const ban = await ctl(["call", "login.Ban", JSON.stringify({ uid, reason: "griefing" }), "--nats", cluster.nats.url]);
    expect(ban).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(ban.stdout)).toEqual({});
    expect(await kicked).toContain("griefing");

    const on = await ctl(["call", "login.SetMaintenance", '{"enabled":true,"whitelist":["u1"]}', "--nats", cluster.nats.url]);
    expect(JSON.parse(on.stdout)).toEqual({ enabled: true, whitelist: ["u1"] });
    const off = await ctl(["call", "login.SetMaintenance", '{"enabled":false}', "--nats", cluster.nats.url]);
    expect(JSON.parse(off.stdout)).toMatchObject({ enabled: false });
  });

  it("prints CODE: message and exits 1 on a refused call, a bad field or an unknown route", async () => {
    const refused = await ctl(["call", "login.Ban", "{}", "--nats", cluster.nats.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("BAD_REQUEST: uid is required\n");
    const badField = await ctl(["call", "login.Ban", '{"user":"u1"}', "--nats", cluster.nats.url]);
    expect(badField.stderr).toMatch(/^BAD_REQUEST: login.BanRequest has no field "user"/);
    const unknown = await ctl(["call", "nosuch.Route", "{}", "--nats", cluster.nats.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^BAD_REQUEST: unknown route "nosuch.Route"/);
  });
});
