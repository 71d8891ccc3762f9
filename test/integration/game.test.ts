import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import type { game } from "../../src/generated/proto.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import gameModule from "../../modules/game/index.js";
import loginModule from "../../modules/login/index.js";
import rankModule from "../../modules/rank/index.js";
import { failure } from "../helpers/failure.js";
import { DropProxy } from "../helpers/drop-proxy.js";

const WINDOW_MS = 1_200;
/** Move timeout of the "blitz" mode. */
const MOVE_MS = 400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Player {
  client: Client;
  uid: string;
  name: string;
  token: string;
  events: game.RoomEvent[];
}

describe("game module through a real gateway (2 game instances, 2 login, 2 rank)", () => {
  let cluster: TestCluster;
  let seq = 0;
  let gameIds: string[] = [];

  function listen(p: Player): void {
    p.client.on<game.RoomEvent>("game.RoomEvent", (e) => p.events.push(e));
  }

  async function player(prefix: string, gateway = 0): Promise<Player> {
    const name = `${prefix}${++seq}`;
    const { client, uid, token } = await cluster.loggedInClient(name, gateway);
    const p: Player = { client, uid, name, token, events: [] };
    listen(p);
    return p;
  }

  /** Resolves once `p` received an event matching `pred` (polls; events arrive asynchronously). */
  async function eventOf(p: Player, pred: (e: game.RoomEvent) => boolean, timeoutMs = 3_000): Promise<game.RoomEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = p.events.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`${p.name}: no such event; got ${p.events.map((e) => `${e.kind}:${e.uid}`).join(", ")}`);
      await sleep(10);
    }
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: rankModule, instances: 2 },
        { def: gameModule, instances: 2 },
      ],
      gateways: 1,
      config: {
        modules: {
          login: { instances: 2, settings: { scryptN: 1024 } },
          rank: { instances: 2, settings: { boards: { tictactoe: "accumulate" } } },
          game: {
            instances: 2,
            drainTimeoutMs: 5_000,
            settings: { modes: { tictactoe: 2, quad: 4, lobby: 4, drain: 4, blitz: { capacity: 2, game: "tictactoe", moveTimeoutMs: MOVE_MS } }, reconnectWindowMs: WINDOW_MS },
          },
        },
      },
    });
    gameIds = cluster.modules.filter((m) => m.runtime.name === "game").map((m) => m.instanceId);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("200 concurrent QuickJoins on capacity-4 rooms over 2 instances: everyone in exactly one room, none over capacity", async () => {
    const players: Player[] = [];
    for (let batch = 0; batch < 4; batch++) {
      players.push(...(await Promise.all(Array.from({ length: 50 }, () => player("qj")))));
    }
    const replies = await Promise.all(players.map((p) => p.client.request("game.QuickJoin", { mode: "quad" })));

    const roomOfUid = new Map<string, string>();
    replies.forEach((r, i) => {
      expect(r.room?.mode).toBe("quad");
      expect(r.room!.members.length).toBeLessThanOrEqual(4);
      expect(r.room!.members.map((m) => m.uid)).toContain(players[i]!.uid);
      roomOfUid.set(players[i]!.uid, r.room!.roomId);
    });
    expect(roomOfUid.size).toBe(200);

    const perRoom = new Map<string, number>();
    for (const id of roomOfUid.values()) perRoom.set(id, (perRoom.get(id) ?? 0) + 1);
    expect(Math.max(...perRoom.values())).toBeLessThanOrEqual(4);
    expect(perRoom.size).toBe(50); // the fullest open room is always filled first

    // The lobby (Redis directory) agrees, across both instances.
    const listed = await players[0]!.client.request("game.ListRooms", { mode: "quad" });
    expect(listed.rooms).toHaveLength(50);
    expect(listed.rooms.reduce((n, r) => n + r.members, 0)).toBe(200);
    for (const r of listed.rooms) {
      expect(r).toMatchObject({ members: 4, capacity: 4, status: "full" });
      expect(perRoom.get(r.roomId)).toBe(4);
      expect(gameIds).toContain(r.instanceId);
    }
    expect(new Set(listed.rooms.map((r) => r.instanceId)).size).toBe(2);

    // Every QuickJoin reply pins the session to the room's instance (forwarded or not: the
    // forwarded case has its own test below), so the next request goes there directly.
    const forwarded = replies.filter((r) => r.via !== r.room!.instanceId);
    const sample = replies.slice(0, 10).map((r, i) => ({ r, p: players[i]! }));
    expect(sample).toHaveLength(10);
    for (const { r, p } of sample) {
      const again = await p.client.request("game.Rejoin", {});
      expect(again.room?.roomId).toBe(r.room!.roomId);
      expect(again.via).toBe(r.room!.instanceId);
    }
    console.log(`200 QuickJoins: ${forwarded.length} forwarded to the room's instance`);

    // Join on a full room: CONFLICT with what to do; an unknown room: NOT_FOUND.
    const late = await player("late");
    const full = await failure(late.client.request("game.Join", { roomId: listed.rooms[0]!.roomId }));
    expect(full.code).toBe("CONFLICT");
    expect(full.message).toBe(`room ${listed.rooms[0]!.roomId} is full: QuickJoin or pick another room`);
    const missing = await failure(late.client.request("game.Join", { roomId: "rnosuchroom" }));
    expect(missing.code).toBe("NOT_FOUND");
    // Already seated: QuickJoin returns the current room; Join of another room is refused.
    const p0 = players[0]!;
    const same = await p0.client.request("game.QuickJoin", { mode: "quad" });
    expect(same.room?.roomId).toBe(roomOfUid.get(p0.uid));
    const other = listed.rooms.find((r) => r.roomId !== roomOfUid.get(p0.uid))!;
    const elsewhere = await failure(p0.client.request("game.Join", { roomId: other.roomId }));
    expect(elsewhere.code).toBe("CONFLICT");
    expect(elsewhere.message).toContain("Leave it first");

    // Leave frees the seat: the room is open again and Join takes it.
    await p0.client.request("game.Leave", {});
    const reopened = (await late.client.request("game.ListRooms", { mode: "quad" })).rooms.find((r) => r.roomId === roomOfUid.get(p0.uid));
    expect(reopened).toMatchObject({ members: 3, status: "open" });
    const joined = await late.client.request("game.Join", { roomId: reopened!.roomId });
    expect(joined.room?.members.map((m) => m.uid)).toContain(late.uid);

    // Everyone leaves: each emptied room closes, in the directory and on its instance.
    const seated = [...players.slice(1), late];
    await Promise.all(seated.map((p) => p.client.request("game.Leave", {})));
    expect((await late.client.request("game.ListRooms", { mode: "quad" })).rooms).toEqual([]);
  }, 40_000);

  it("forwards a QuickJoin that lands on the other instance and pins the session to the room's instance", async () => {
    // Each QuickJoin goes to a random instance of the queue group; the fullest open room may live
    // on the other one. Join players one by one until that happens (bounded: 1 in 2 per join).
    const joined: Player[] = [];
    let hit: { p: Player; reply: game.RoomReply } | null = null;
    for (let i = 0; i < 40 && hit === null; i++) {
      const p = await player("fw");
      joined.push(p);
      const reply = await p.client.request("game.QuickJoin", { mode: "lobby" });
      if (reply.via !== reply.room!.instanceId) hit = { p, reply };
    }
    expect(hit, "no QuickJoin of 40 was forwarded: is the queue group spreading requests?").not.toBeNull();
    const again = await hit!.p.client.request("game.Rejoin", {});
    expect(again.room?.roomId).toBe(hit!.reply.room!.roomId);
    expect(again.via).toBe(hit!.reply.room!.instanceId);
    await Promise.all(joined.map((p) => p.client.request("game.Leave", {})));
  });

  it("plays tic-tac-toe to the end: sticky moves, turn validation, game over pushed to both, the winner credited in rank", async () => {
    const x = await player("x");
    const o = await player("o");
    const first = await x.client.request("game.QuickJoin", { mode: "tictactoe" });
    expect(first.room).toMatchObject({ phase: "waiting", capacity: 2 });
    const listed = await o.client.request("game.ListRooms", { mode: "tictactoe" });
    expect(listed.rooms.find((r) => r.roomId === first.room!.roomId)).toMatchObject({ members: 1, status: "open" });

    const second = await o.client.request("game.QuickJoin", { mode: "tictactoe" });
    const roomId = first.room!.roomId;
    const home = first.room!.instanceId;
    expect(second.room?.roomId).toBe(roomId);
    expect(second.room?.phase).toBe("playing");
    expect(second.room?.turnUid).toBe(x.uid); // seat 0 plays X and starts
    await eventOf(x, (e) => e.kind === "started");
    await eventOf(o, (e) => e.kind === "started");

    const notYours = await failure(o.client.request("game.Move", { cell: 4 }));
    expect(notYours.code).toBe("CONFLICT");
    expect(notYours.message).toContain("not your turn");
    const off = await failure(x.client.request("game.Move", { cell: 9 }));
    expect(off.code).toBe("BAD_REQUEST");

    const m1 = await x.client.request("game.Move", { cell: 0 });
    expect(m1.room?.board).toBe("X........");
    const taken = await failure(o.client.request("game.Move", { cell: 0 }));
    expect(taken.code).toBe("BAD_REQUEST");
    expect(taken.message).toContain("taken");

    const moves: [Player, number][] = [[o, 3], [x, 1], [o, 4]];
    for (const [p, cell] of moves) {
      const r = await p.client.request("game.Move", { cell });
      // Sticky: with 2 instances, every move reached the room's instance directly.
      expect(r.via).toBe(home);
    }
    const last = await x.client.request("game.Move", { cell: 2 });
    expect(last.room).toMatchObject({ phase: "over", winnerUid: x.uid, board: "XXXOO....", draw: false });

    for (const p of [x, o]) {
      const over = await eventOf(p, (e) => e.kind === "over");
      expect(over).toMatchObject({ uid: x.uid, reason: "win" });
      expect(over.room?.winnerUid).toBe(x.uid);
      await eventOf(p, (e) => e.kind === "closed");
      expect(p.events.filter((e) => e.kind === "moved").map((e) => e.cell)).toEqual([0, 3, 1, 4, 2]);
    }
    const top = await o.client.request("rank.Top", { board: "tictactoe" });
    expect(top.entries.find((e) => e.uid === x.uid)?.score).toBe(1);
    expect(top.entries.find((e) => e.uid === o.uid)).toBeUndefined();

    // The room is gone: no longer listed, moves refused with a hint.
    expect((await x.client.request("game.ListRooms", { mode: "tictactoe" })).rooms.map((r) => r.roomId)).not.toContain(roomId);
    for (const p of [x, o]) {
      const late = await failure(p.client.request("game.Move", { cell: 5 }));
      expect(late.code).toBe("CONFLICT");
      expect(late.message).toBe(`the game in room ${roomId} is over: QuickJoin for a new one`);
    }
    const stranger = await player("never");
    expect((await failure(stranger.client.request("game.Move", { cell: 5 }))).code).toBe("NOT_FOUND");
  });

  it("a player who does not move within the mode's moveTimeoutMs forfeits: the other wins and is credited", async () => {
    const x = await player("bx");
    const o = await player("bo");
    const before = async (p: Player) => (await p.client.request("rank.Me", { board: "tictactoe" })).score;
    const [xScore, oScore] = [await before(x), await before(o)];
    await x.client.request("game.QuickJoin", { mode: "blitz" });
    const started = await o.client.request("game.QuickJoin", { mode: "blitz" });
    expect(started.room).toMatchObject({ phase: "playing", turnUid: x.uid });
    // x, whose turn it is, stalls (a test of "a move restarts the timer" would race the clock)
    for (const p of [x, o]) {
      const over = await eventOf(p, (e) => e.kind === "over", 5_000);
      expect(over).toMatchObject({ uid: o.uid, reason: "timeout" });
      expect(over.room).toMatchObject({ phase: "over", winnerUid: o.uid, board: "........." });
      await eventOf(p, (e) => e.kind === "closed");
    }
    expect(await before(o)).toBe(oScore + 1);
    expect(await before(x)).toBe(xScore);
    // the game is over (README: CONFLICT for a player of the finished room)
    expect((await failure(x.client.request("game.Move", { cell: 0 }))).code).toBe("CONFLICT");
  });

  it("keeps a disconnected member's seat for the window; Resume + Rejoin restores it", async () => {
    const a = await player("keep");
    const b = await player("keep");
    const ra = await a.client.request("game.QuickJoin", { mode: "tictactoe" });
    await b.client.request("game.QuickJoin", { mode: "tictactoe" });
    const roomId = ra.room!.roomId;

    await b.client.close();
    const gone = await eventOf(a, (e) => e.kind === "disconnected" && e.uid === b.uid);
    expect(gone.room?.members.find((m) => m.uid === b.uid)?.connected).toBe(false);
    expect((await a.client.request("game.ListRooms", { mode: "tictactoe" })).rooms.find((r) => r.roomId === roomId)?.members).toBe(2);

    const back = await cluster.client(0);
    await back.request("login.Resume", { token: b.token });
    const b2: Player = { ...b, client: back, events: [] };
    listen(b2);
    const rejoined = await back.request("game.Rejoin", {});
    expect(rejoined.room).toMatchObject({ roomId, phase: "playing" });
    expect(rejoined.room?.members.every((m) => m.connected)).toBe(true);
    await eventOf(a, (e) => e.kind === "rejoined" && e.uid === b.uid);

    // The game goes on with the restored seat; events reach the new connection.
    await a.client.request("game.Move", { cell: 4 });
    await eventOf(b2, (e) => e.kind === "moved" && e.cell === 4);
    const r = await back.request("game.Move", { cell: 0 });
    expect(r.room?.board).toBe("O...X....");
    expect(r.via).toBe(r.room!.instanceId); // pinned again by Rejoin

    // Past the window, the absent player leaves: a running game is forfeited to the other.
    await back.close();
    const over = await eventOf(a, (e) => e.kind === "over", WINDOW_MS + 3_000);
    expect(over).toMatchObject({ uid: a.uid, reason: "forfeit" });
    expect((await a.client.request("rank.Me", { board: "tictactoe" })).score).toBe(1);
  });

  it("a member whose connection drops plays on after the SDK's reconnect and resume, with no game.Rejoin", async () => {
    const a = await player("auto");
    const proxy = await DropProxy.start(cluster.gateways[0]!.address());
    try {
      const client = await cluster.client(0, { host: "127.0.0.1", port: proxy.port, reconnect: { minDelayMs: 30, maxDelayMs: 100, maxAttempts: 100, windowMs: 10_000 } });
      const name = `auto-drop${++seq}`;
      await client.request("login.Register", { username: name, password: "password-1" });
      const { uid, token } = await client.request("login.Login", { username: name, password: "password-1" });
      const b: Player = { client, uid, name, token, events: [] };
      listen(b);
      const resumed = new Promise<void>((resolve) => client.onReconnect(() => resolve()));
      await a.client.request("game.QuickJoin", { mode: "tictactoe" });
      const rb = await client.request("game.QuickJoin", { mode: "tictactoe" });
      expect(rb.room?.phase).toBe("playing");

      proxy.drop();
      await resumed;
      await eventOf(a, (e) => e.kind === "rejoined" && e.uid === b.uid);
      // no Rejoin: the seat followed the resumed session, and so did the pin and the room channel
      await a.client.request("game.Move", { cell: 4 });
      await eventOf(b, (e) => e.kind === "moved" && e.cell === 4);
      const r = await client.request("game.Move", { cell: 0 });
      expect(r.room?.board).toBe("O...X....");
      expect(r.room?.members.every((m) => m.connected)).toBe(true);
      expect(r.via).toBe(r.room!.instanceId);
      await client.close();
    } finally {
      await proxy.stop();
    }
  });

  it("after the window a lone member leaves and the empty room closes", async () => {
    const p = await player("lone");
    const r = await p.client.request("game.QuickJoin", { mode: "lobby" });
    const roomId = r.room!.roomId;
    const watcher = await player("watch");
    expect((await watcher.client.request("game.ListRooms", { mode: "lobby" })).rooms.map((x) => x.roomId)).toContain(roomId);
    await p.client.close();
    const deadline = Date.now() + WINDOW_MS + 5_000;
    while ((await watcher.client.request("game.ListRooms", { mode: "lobby" })).rooms.some((x) => x.roomId === roomId)) {
      if (Date.now() > deadline) throw new Error(`room ${roomId} still listed ${WINDOW_MS + 5_000} ms after its lone member left`);
      await sleep(50);
    }
    const back = await cluster.client(0);
    await back.request("login.Resume", { token: p.token });
    const none = await failure(back.request("game.Rejoin", {}));
    expect(none.code).toBe("NOT_FOUND");
    expect(none.message).toContain("QuickJoin");
  });

  it("draining: the instance takes no new players, keeps serving its rooms, and stops once they end", async () => {
    const d1 = await player("drain");
    const r1 = await d1.client.request("game.QuickJoin", { mode: "drain" });
    const roomId = r1.room!.roomId;
    const host = cluster.modules.find((m) => m.instanceId === r1.room!.instanceId)!;
    const drained = host.drain();
    expect(host.state).toBe("draining");

    // Closed to new players: listed as closed, Join refused, QuickJoin opens a room elsewhere.
    const d2 = await player("drain");
    let listed = await d2.client.request("game.ListRooms", { mode: "drain" });
    for (let i = 0; i < 100 && listed.rooms.find((r) => r.roomId === roomId)?.status !== "closed"; i++) {
      await sleep(20); // the drain marks the room closed once the instance left the queue group
      listed = await d2.client.request("game.ListRooms", { mode: "drain" });
    }
    expect(listed.rooms.find((r) => r.roomId === roomId)).toMatchObject({ members: 1, status: "closed" });
    const closed = await failure(d2.client.request("game.Join", { roomId }));
    expect(closed.code).toBe("CONFLICT");
    const r2 = await d2.client.request("game.QuickJoin", { mode: "drain" });
    expect(r2.room?.roomId).not.toBe(roomId);
    expect(r2.room?.instanceId).not.toBe(host.instanceId);

    // The existing room is still served through the instance subject.
    const again = await d1.client.request("game.Rejoin", {});
    expect(again.via).toBe(host.instanceId);
    expect(host.state).toBe("draining");

    // Its last member leaves: the room closes, drained() resolves, the instance stops.
    await d1.client.request("game.Leave", {});
    await drained;
    expect(await host.stopped).toBeNull();
    // Unpinned by Leave, the player reaches the remaining instance.
    const next = await d1.client.request("game.QuickJoin", { mode: "drain" });
    expect(next.room?.roomId).toBe(r2.room!.roomId);
  });
});
