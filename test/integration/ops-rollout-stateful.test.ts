import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import type { game } from "../../src/generated/proto.js";
import { alive, type CliProcess, ctl, ctlStatus, loggedIn, startOpsCluster, stopOpsCluster, until } from "../helpers/ops.js";

/** The room events a client receives. */
function events(c: Client): game.RoomEvent[] {
  const list: game.RoomEvent[] = [];
  c.on<game.RoomEvent>("game.RoomEvent", (e) => list.push(e));
  return list;
}

describe("ctl rollout of a stateful module (game rooms)", () => {
  let dir: string;
  let master: CliProcess;
  let config: string;
  let gwPort: number;
  const clients: Client[] = [];
  const pids = new Set<number>();

  beforeAll(async () => {
    const ops = await startOpsCluster("sy-ops-stateful-", {
      modules: {
        login: { instances: 1, settings: { scryptN: 1024 } },
        rank: { instances: 1, settings: { boards: { tictactoe: "accumulate" } } },
        game: { instances: 1, drainTimeoutMs: 60_000, settings: { modes: { tictactoe: 2 } } },
      },
    }, pids);
    dir = ops.dir;
    master = ops.master;
    config = ops.config;
    gwPort = ops.gwPort;
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients }));

  async function player(name: string): Promise<Client> {
    const c = await loggedIn(gwPort, name);
    clients.push(c);
    return c;
  }

  it("keeps a running game on the old instance until it ends, places new rooms on the new one, then retires the old", async () => {
    const [oldGame] = (await ctlStatus(config)).instances.filter((r) => r.module === "game");
    expect(oldGame).toBeDefined();
    pids.add(oldGame!.pid!);

    // a game in progress on the old instance
    const p1 = await player("stateful-1");
    const p2 = await player("stateful-2");
    const e1 = events(p1);
    const room = (await p1.request("game.QuickJoin", { mode: "tictactoe" })).room!;
    await p2.request("game.QuickJoin", { mode: "tictactoe" });
    expect(room.instanceId).toBe(oldGame!.instance);
    await until("the game to start", 10_000, async () => (e1.some((e) => e.kind === "started") ? true : undefined));
    const xUid = e1.find((e) => e.kind === "started")!.room!.turnUid;
    const [x, o] = xUid === room.members[0]!.uid ? [p1, p2] : [p2, p1];
    await x.request("game.Move", { cell: 0 });

    // roll out while the game runs; the command returns only once the old instance has exited
    const rollout = ctl(config, ["rollout", "game"], 90_000);
    const newGame = await until("a new game instance ready and the old one draining", 30_000, async () => {
      const rows = (await ctlStatus(config)).instances.filter((r) => r.module === "game");
      const fresh = rows.find((r) => r.instance !== oldGame!.instance && r.state === "ready");
      const old = rows.find((r) => r.instance === oldGame!.instance);
      return fresh && old?.state === "draining" ? fresh : undefined;
    });
    pids.add(newGame.pid!);

    // new players are placed on the new instance, never in the draining one
    const p3 = await player("stateful-3");
    const fresh = (await p3.request("game.QuickJoin", { mode: "tictactoe" })).room!;
    expect(fresh.instanceId).toBe(newGame.instance);
    expect(fresh.roomId).not.toBe(room.roomId);

    // the running game keeps being served by the old instance, to its end
    const moves: [Client, number][] = [[o, 3], [x, 1], [o, 4], [x, 2]];
    for (const [who, cell] of moves) {
      const r = await who.request("game.Move", { cell });
      expect(r.via).toBe(oldGame!.instance);
    }
    await until("game over", 10_000, async () => (e1.some((e) => e.kind === "over") ? true : undefined));
    expect(e1.find((e) => e.kind === "over")!.uid).toBe(xUid);

    // with its last room ended the old instance drains out and the rollout completes
    const res = await rollout;
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/rolled out game: 1 instance/);
    await until("the old game process to exit", 20_000, async () => (alive(oldGame!.pid!) ? undefined : true));
    const after = (await ctlStatus(config)).instances.filter((r) => r.module === "game");
    expect(after.map((r) => [r.instance, r.state])).toEqual([[newGame.instance, "ready"]]);
  }, 120_000);
});
