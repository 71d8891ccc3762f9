import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import basicScenario, { ECHOES_PER_ROUND } from "../../bench/scenarios/basic.js";
import { BotStats, defineScenario, progressPrinter, runBots, type BotsReport } from "../../src/bots/index.js";
import { projectRoot } from "../../src/config/cluster-config.js";
import echoModule from "../../modules/echo/index.js";
import loginModule from "../../modules/login/index.js";
import rankModule from "../../modules/rank/index.js";
import rankedScenario, { BOARD as RANKED_BOARD } from "../../bench/scenarios/ranked.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";

function route(r: BotsReport, name: string) {
  const found = r.routes.find((x) => x.route === name);
  if (!found) throw new Error(`no route ${name} in the report: ${r.routes.map((x) => x.route).join(", ")}`);
  return found;
}

describe("load-test bots against a real gateway", () => {
  let cluster: TestCluster;
  let port: number;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [{ def: loginModule, instances: 1 }, { def: echoModule, instances: 1 }, { def: rankModule, instances: 1 }],
      // the ranked scenario submits from clients: its board opts in
      config: { modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1, ordered: false }, rank: { instances: 1, settings: { boards: { [RANKED_BOARD]: { policy: "best", clientSubmit: { min: 1, max: 10_000 } } } } } } },
    });
    port = cluster.gateways[0]!.address().port;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("20 bots of the basic scenario: every call counted per route, no errors", async () => {
    const report = await runBots({
      scenario: basicScenario,
      scenarioName: "basic",
      bots: 20,
      rampSeconds: 0.5,
      durationSeconds: null,
      client: { port, heartbeatMs: 0 },
    });
    expect(report.connected).toBe(20);
    expect(report.finished).toBe(20);
    expect(report.failed).toBe(0);
    expect(report.failures).toEqual([]);
    expect(route(report, "login.Register").count).toBe(20);
    expect(route(report, "login.Login").ok).toBe(20);
    expect(route(report, "echo.Echo").ok).toBe(20 * ECHOES_PER_ROUND);
    expect(report.total.count).toBe(20 * (2 + ECHOES_PER_ROUND));
    expect(report.errorsByCode).toEqual({});
  });

  it("10 bots of the ranked scenario: submit, top and me, once each", async () => {
    const report = await runBots({ scenario: rankedScenario, scenarioName: "ranked", bots: 10, rampSeconds: 0, durationSeconds: null, client: { port, heartbeatMs: 0 } });
    expect(report.failures).toEqual([]);
    expect(report.finished).toBe(10);
    for (const r of ["rank.Submit", "rank.Top", "rank.Me"]) expect(route(report, r).ok).toBe(10);
  });

  it("counts errors by code and reports why bots failed", async () => {
    const scenario = defineScenario(async (bot) => {
      await bot.request("echo.Echo", { text: "anonymous is fine for echo? no: it needs a login" }).catch(() => undefined);
      if (bot.index % 2 === 0) throw new Error("scripted failure");
    });
    const report = await runBots({ scenario, scenarioName: "failing", bots: 4, rampSeconds: 0, durationSeconds: null, client: { port, heartbeatMs: 0 } });
    expect(report.finished).toBe(2);
    expect(report.failed).toBe(2);
    expect(report.failures).toEqual([{ reason: "CLIENT: scripted failure", bots: 2, example: expect.any(Number) }]);
    expect(report.errorsByCode).toEqual({ UNAUTHENTICATED: 4 });
    expect(route(report, "echo.Echo").errors).toEqual({ UNAUTHENTICATED: 4 });
  });

  it("a bot that cannot connect fails with the reason", async () => {
    const report = await runBots({ scenario: basicScenario, scenarioName: "basic", bots: 2, rampSeconds: 0, durationSeconds: null, client: { port: 1, heartbeatMs: 0 } });
    expect(report.connected).toBe(0);
    expect(report.failed).toBe(2);
    expect(report.failures[0]!.reason).toMatch(/^UNAVAILABLE: cannot connect to 127\.0\.0\.1:1/);
  });

  it("`switchyard bots` runs a built scenario and writes the JSON report", async () => {
    const root = projectRoot();
    const out = join(mkdtempSync(join(tmpdir(), "sy-bots-")), "report.json");
    const args = ["bots", "--scenario", "bench/scenarios/basic.ts", "--bots", "5", "--ramp", "0.2", "--port", String(port), "--json", out];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [join(root, "bin", "switchyard.js"), ...args], { cwd: root, stdio: "ignore" });
      child.on("exit", (c) => resolve(c));
    });
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(out, "utf8")) as BotsReport;
    expect(report.bots).toBe(5);
    expect(report.finished).toBe(5);
    expect(route(report, "echo.Echo").ok).toBe(5 * ECHOES_PER_ROUND);
  });
});

describe("bots progress line", () => {
  it("redraws in place on a terminal, prints plain lines otherwise", () => {
    const stats = new BotStats();
    stats.connected = 3;
    const tty: string[] = [];
    const p1 = progressPrinter({ isTTY: true, write: (t: string) => tty.push(t) }, 10);
    p1.update(stats, 100);
    p1.update(stats, 300);
    p1.done();
    expect(tty.length).toBe(3);
    expect(tty[0]).toMatch(/^\r\x1b\[2Kbots 3\/10 connected/);
    expect(tty[2]).toBe("\n");
    const plain: string[] = [];
    const p2 = progressPrinter({ write: (t: string) => plain.push(t) }, 10, 1_000);
    p2.update(stats, 100);
    p2.update(stats, 500);
    p2.update(stats, 1_200);
    p2.done();
    expect(plain.length).toBe(2);
    expect(plain.every((l) => l.startsWith("bots 3/10") && l.endsWith("\n"))).toBe(true);
  });
});
