import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fullScenario, { fullScenario as fullWith } from "../../bench/scenarios/full.js";
import { runBots, type BotsReport, type Scenario } from "../../src/bots/index.js";
import type { game } from "../../src/generated/proto.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { gameStackSpec } from "../helpers/game-cluster.js";

function count(r: BotsReport, route: string, what: "count" | "ok" = "ok"): number {
  return r.routes.find((x) => x.route === route)?.[what] ?? 0;
}

describe("bots of the full scenario (login, team, game, rank; 2 instances each)", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(gameStackSpec());
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("10 bots register, pair up in 5 teams, play 5 games to the end, read rank and leave", async () => {
    // how each game ended, as its players were told (roomId → winner uid, "" for a draw)
    const outcomes = new Map<string, string>();
    const observed: Scenario = async (bot) => {
      bot.client.on<game.RoomEvent>("game.RoomEvent", (e) => {
        if (e.kind === "over" && e.room) outcomes.set(e.room.roomId, e.room.winnerUid);
      });
      await fullScenario(bot);
    };
    const report = await runBots({ scenario: observed, scenarioName: "full", bots: 10, rampSeconds: 0.5, durationSeconds: null, client: { port: cluster.gateways[0]!.address().port, heartbeatMs: 0 } });
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ connected: 10, finished: 10, failed: 0 });
    expect(report.errorsByCode).toEqual({});
    expect(count(report, "login.Register")).toBe(10);
    expect(count(report, "login.Login")).toBe(10);
    expect(count(report, "team.Create")).toBe(5);
    expect(count(report, "team.Invite")).toBe(5);
    expect(count(report, "team.Join")).toBe(5);
    expect(count(report, "team.Leave")).toBe(10);
    expect(count(report, "game.QuickJoin")).toBeGreaterThanOrEqual(10);
    // 5 games of 5 to 9 moves each
    expect(count(report, "game.Move")).toBeGreaterThanOrEqual(25);
    expect(count(report, "game.Move")).toBeLessThanOrEqual(45);
    expect(count(report, "rank.Me")).toBe(10);
    expect(count(report, "rank.Top")).toBe(10);

    // every win was credited: the board's total score is the number of games not drawn
    const c = await cluster.client();
    await c.request("login.Register", { username: "bots-full-reader", password: "password-1" });
    await c.request("login.Login", { username: "bots-full-reader", password: "password-1" });
    const top = await c.request("rank.Top", { board: "tictactoe", n: 100 });
    expect(outcomes.size).toBe(5);
    const wins = [...outcomes.values()].filter((w) => w !== "").length;
    expect(top.entries.reduce((a, e) => a + e.score, 0)).toBe(wins);
    expect(top.total).toBe(wins);
    expect(top.entries.every((e) => e.username.startsWith("bot-"))).toBe(true);
  });

  it("a lone bot (odd count) teams up alone, gives up on an opponent that never comes, leaves the room and says why", async () => {
    const scenario = fullWith({ partnerMs: 2_000, opponentMs: 300, turnMs: 2_000 });
    const report = await runBots({ scenario, scenarioName: "full", bots: 1, rampSeconds: 0, durationSeconds: null, client: { port: cluster.gateways[0]!.address().port, heartbeatMs: 0 } });
    expect(report).toMatchObject({ connected: 1, finished: 0, failed: 1 });
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]!.reason).toMatch(/^CLIENT: bot #0: timed out after 0\.3 s waiting for an opponent in room /);
    expect(count(report, "team.Create")).toBe(1);
    expect(count(report, "team.Invite", "count")).toBe(0);
    expect(count(report, "game.QuickJoin")).toBe(1);
    expect(count(report, "game.Leave")).toBe(1);
  });
});
