import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import type { game } from "../../src/generated/proto.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { gameStackSpec } from "../helpers/game-cluster.js";

/** Collects the room events a client receives. */
function roomEvents(c: Client): game.RoomEvent[] {
  const events: game.RoomEvent[] = [];
  c.on<game.RoomEvent>("game.RoomEvent", (e) => events.push(e));
  return events;
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("scripted scenario: register, log in, team up, quick-join, play to the end, rank", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(gameStackSpec(2));
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("two players on two gateways play tic-tac-toe to a win and the winner tops the board", async () => {
    // register and log in, one player per gateway
    const p1 = await cluster.client(0);
    const p2 = await cluster.client(1);
    const u1 = (await p1.request("login.Register", { username: "scenario-1", password: "password-1" })).uid;
    const u2 = (await p2.request("login.Register", { username: "scenario-2", password: "password-2" })).uid;
    expect((await p1.request("login.Login", { username: "scenario-1", password: "password-1" })).uid).toBe(u1);
    expect((await p2.request("login.Login", { username: "scenario-2", password: "password-2" })).uid).toBe(u2);

    // team up: p1 creates an invite-only team, invites p2, p2 joins
    const team = await p1.request("team.Create", { name: "duo", capacity: 2, open: false });
    expect(team.leader).toBe(u1);
    const invited = new Promise<void>((resolve) => p2.on("team.Invitation", () => resolve()));
    await p1.request("team.Invite", { uid: u2 });
    await invited;
    const joined = await p2.request("team.Join", { teamId: team.teamId });
    expect(joined.members.map((m) => m.uid).sort()).toEqual([u1, u2].sort());

    // quick-join: both land in the same 2-seat room, whichever game instance answered
    const e1 = roomEvents(p1);
    const e2 = roomEvents(p2);
    const r1 = await p1.request("game.QuickJoin", { mode: "tictactoe" });
    const r2 = await p2.request("game.QuickJoin", { mode: "tictactoe" });
    expect(r2.room!.roomId).toBe(r1.room!.roomId);
    await until(() => e1.some((e) => e.kind === "started"), "the game to start");

    // play: X (seat 0) takes the top row while O plays the middle row
    const started = e1.find((e) => e.kind === "started")!.room!;
    const xUid = started.turnUid;
    const [x, o] = xUid === u1 ? [p1, p2] : [p2, p1];
    for (const [player, cell] of [[x, 0], [o, 3], [x, 1], [o, 4], [x, 2]] as const) {
      await player.request("game.Move", { cell });
    }
    await until(() => e1.some((e) => e.kind === "over") && e2.some((e) => e.kind === "over"), "game over on both clients");
    const over = e2.find((e) => e.kind === "over")!;
    expect(over.uid).toBe(xUid);
    expect(over.reason).toBe("win");

    // the winner appears in rank.Top
    const top = await p1.request("rank.Top", { board: "tictactoe", n: 10 });
    expect(top.entries[0]).toMatchObject({ rank: 1, uid: xUid, score: 1 });
    expect(top.entries.some((e) => e.uid === (xUid === u1 ? u2 : u1))).toBe(false);
  });
});
