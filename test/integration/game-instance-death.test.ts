import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { game } from "../../src/generated/proto.js";
import { GameKeys } from "../../modules/game/room-directory.js";
import { INSTANCE_LOST_REASON } from "../../modules/game/instance-sweep.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { requireBuild, startCli, until, type CliProcess } from "../helpers/ops.js";
import { failure } from "../helpers/failure.js";
import { collectPushes, nextPush } from "../helpers/pushes.js";
import gameModule from "../../modules/game/index.js";
import loginModule from "../../modules/login/index.js";
import rankModule from "../../modules/rank/index.js";

/** Liveness TTL of the game instances here: the sweep bound is this plus one beat (ttl / 3). */
const ALIVE_TTL_MS = 3_000;
const BOUND_MS = 10_000;

describe("a game instance killed with -9: its rooms leave the directory and the members are told", () => {
  let cluster: TestCluster;
  let redis: Redis;
  let doomed: CliProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    requireBuild();
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 1 },
        { def: rankModule, instances: 1 },
      ],
      config: {
        modules: {
          login: { instances: 1, settings: { scryptN: 1024 } },
          rank: { instances: 1, settings: { boards: { tictactoe: "accumulate" } } },
          game: { instances: 1, settings: { modes: { lobby: 4 }, aliveTtlMs: ALIVE_TTL_MS } },
        },
      },
    });
    redis = new Redis(cluster.redis.url);
    dir = mkdtempSync(join(tmpdir(), "sy-game-death-"));
  });

  afterAll(async () => {
    if (doomed && doomed.proc.exitCode === null) doomed.proc.kill("SIGKILL");
    redis?.disconnect();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the surviving instance removes every key of the room and pushes one 'closed' to each member; a new QuickJoin works", async () => {
    const config = join(dir, "cluster.json");
    writeFileSync(config, JSON.stringify(cluster.config));
    doomed = startCli(["module", "game", "--config", config, "--instance", "game-doomed"]);
    // Ready once it heartbeats (the test config logs nothing to stdout).
    await until("game-doomed alive", 15_000, async () => ((await redis.exists(GameKeys.alive("game-doomed"))) === 1 ? true : undefined));

    // The doomed instance is the only game instance: the room lands there.
    const players: Awaited<ReturnType<TestCluster["loggedInClient"]>>[] = [];
    for (const name of ["gd-a", "gd-b", "gd-c"]) players.push(await cluster.loggedInClient(name));
    const replies = [];
    for (const p of players) replies.push(await p.client.request("game.QuickJoin", { mode: "lobby" }));
    const roomId = replies[0]!.room!.roomId;
    expect(replies.map((r) => [r.room!.roomId, r.room!.instanceId])).toEqual(players.map(() => [roomId, "game-doomed"]));

    await cluster.addModule(gameModule, "game-survivor");
    const events = players.map((p) => collectPushes<game.RoomEvent>(p.client, "game.RoomEvent"));
    const closed = players.map((p) => nextPush<game.RoomEvent>(p.client, "game.RoomEvent", (e) => e.kind === "closed", BOUND_MS + 2_000));
    const killedAt = Date.now();
    doomed.proc.kill("SIGKILL");
    await doomed.exited;

    const got = await Promise.all(closed);
    console.log(`game instance killed -> members told the room closed after ${Date.now() - killedAt} ms (aliveTtlMs ${ALIVE_TTL_MS})`);
    for (const e of got) {
      expect(e).toMatchObject({ kind: "closed", reason: INSTANCE_LOST_REASON, room: { roomId, instanceId: "game-doomed", phase: "over" } });
      expect(e.room!.members.map((m) => m.uid)).toEqual(players.map((p) => p.uid));
    }
    // The directory holds nothing of the room any more.
    const keys = [GameKeys.room(roomId), GameKeys.seats(roomId), GameKeys.instance("game-doomed"), ...players.map((p) => GameKeys.player(p.uid))];
    expect(await redis.exists(...keys)).toBe(0);
    expect(await redis.zscore(GameKeys.open("lobby"), roomId)).toBeNull();
    expect(await redis.sismember(GameKeys.rooms("lobby"), roomId)).toBe(0);
    expect(await redis.smembers(GameKeys.instances())).toEqual(["game-survivor"]);
    // A member's session is still pinned to the dead instance: its next game request is refused
    // once (UNAVAILABLE, which clears the pin), and the retry lands on the survivor.
    const refused = await failure(players[0]!.client.request("game.ListRooms", { mode: "lobby" }));
    expect(refused.code).toBe("UNAVAILABLE");
    expect(await players[0]!.client.request("game.ListRooms", { mode: "lobby" })).toEqual({ rooms: [] });

    const again = await players[0]!.client.request("game.QuickJoin", { mode: "lobby" });
    expect(again.room).toMatchObject({ instanceId: "game-survivor", members: [{ uid: players[0]!.uid, seat: 0, connected: true }] });
    expect(again.room!.roomId).not.toBe(roomId);
    // Exactly one "closed" of the dead room reached each member.
    for (const list of events) expect(list.filter((e) => e.kind === "closed" && e.room?.roomId === roomId)).toHaveLength(1);
  }, 40_000);
});
