import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrivateStore } from "../../modules/chat/private-store.js";
import { RoomStore } from "../../modules/chat/room-store.js";
import { RoomDirectory } from "../../modules/game/room-directory.js";
import { AccountStore } from "../../modules/login/accounts.js";
import { BoardStore } from "../../modules/rank/board-store.js";
import { PolicyName } from "../../modules/rank/policy.js";
import { SocialStore } from "../../modules/social/social-store.js";
import { TeamKeys } from "../../modules/team/team-keys.js";
import { LEAVE } from "../../modules/team/team-scripts.js";
import { TeamStore } from "../../modules/team/team-store.js";
import { SceneDirectory } from "../../modules/scene/scene-directory.js";
import { WorkerLease } from "../../src/ids/worker-lease.js";
import { OnlineTable } from "../../src/module/online-table.js";
import { declaredRedisCommandNames, defineRedisCommand } from "../../src/module/redis-command.js";
import { startRedisCluster, type RunningServer } from "../helpers/servers.js";

/**
 * A client whose scripts carry the `#!lua` shebang: Redis 7 then refuses any key a script
 * touches, declared in KEYS or not, that is not in the slot of its declared keys (in cluster
 * mode). Without it a single node that owns every slot would only check the declared KEYS.
 */
function strictScriptsClient(url: string, defined: Set<string>): Redis {
  const redis = new Redis(url);
  const define = redis.defineCommand.bind(redis);
  redis.defineCommand = (name, definition) => {
    defined.add(name);
    define(name, { ...definition, lua: `#!lua\n${definition.lua}` });
  };
  return redis;
}

describe("every Lua script on a real Redis Cluster node (CROSSSLOT refused)", () => {
  let server: RunningServer;
  let redis: Redis;
  /** Commands run through the strict client (ioredis defines each on its first call). */
  const ran = new Set<string>();

  beforeAll(async () => {
    server = await startRedisCluster();
    redis = strictScriptsClient(server.url, ran);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("refuses a script whose keys span slots (the check this test relies on)", async () => {
    const declared = defineRedisCommand<[a: string, b: string], [], number>({ name: "syTestTwoSlots", numberOfKeys: 2, lua: "return 1" });
    await expect(declared.run(redis, ["{a}x", "{b}y"], [])).rejects.toThrow(/CROSSSLOT/);
    const derived = defineRedisCommand<[a: string], [], number>({ name: "syTestDerivedKey", numberOfKeys: 1, lua: "redis.call('SET', '{b}y', 1) return 1" });
    await expect(derived.run(redis, ["{a}x"], [])).rejects.toThrow(/do not hash to the same slot/);
    const plain = new Redis(server.url);
    try {
      expect(await derived.run(plain, ["{b}x"], [])).toBe(1);
    } finally {
      plain.disconnect();
    }
  });

  it("online table: claim (moving the uid between gateway indexes), release-if-owner, forget an empty gateway", async () => {
    const online = new OnlineTable(redis);
    await online.claim("u1", { gatewayId: "gw-1", sid: 7 });
    expect(await online.claim("u1", { gatewayId: "gw-2", sid: 9 })).toEqual({ gatewayId: "gw-1", sid: 7 });
    expect(await online.sessionsOf("gw-1")).toEqual([]);
    expect((await online.sessionsOf("gw-2")).map((s) => [s.uid, s.sid])).toEqual([["u1", 9]]);
    expect(await online.release("u1", { gatewayId: "gw-2", sid: 8 })).toBe(false);
    expect(await online.release("u1", { gatewayId: "gw-2", sid: 9 })).toBe(true);
    await online.forgetGatewayIfEmpty("gw-2");
    expect(await online.gatewaysWithSessions()).not.toContain("gw-2");
  });

  it("online table after a gateway death: sweeper lease, pending pushes kept for the dead session, adoption moving it with them", async () => {
    const online = new OnlineTable(redis);
    expect(await online.holdSweeperLease("mod-a", 3_000)).toBe(true);
    expect(await online.holdSweeperLease("mod-b", 3_000)).toBe(false);
    await online.claim("u9", { gatewayId: "gw-dead", sid: 3 });
    expect(await online.appendPending("u9", { gatewayId: "gw-dead", sid: 3 }, "aXRlbQ==", 2, 10_000)).toBe("kept");
    expect(await online.appendPending("u9", { gatewayId: "gw-other", sid: 3 }, "aXRlbQ==", 2, 10_000)).toBe("moved");
    expect(await online.adoptSession("u9", { gatewayId: "gw-dead", sid: 3 }, { gatewayId: "gw-live", sid: 5 })).toEqual({ items: ["aXRlbQ=="], overflow: false });
    expect(await online.lookup("u9")).toEqual({ gatewayId: "gw-live", sid: 5 });
    expect(await online.adoptSession("u9", { gatewayId: "gw-dead", sid: 3 }, { gatewayId: "gw-live", sid: 6 })).toBeNull();
    expect(await online.takePending("u9")).toEqual({ items: [], overflow: false });
    // past the bound the list is marked incomplete (the resume answers RESYNC)
    await online.claim("u10", { gatewayId: "gw-dead", sid: 4 });
    for (const expected of ["kept", "kept", "full", "full"]) expect(await online.appendPending("u10", { gatewayId: "gw-dead", sid: 4 }, "aXRlbQ==", 2, 10_000)).toBe(expected);
    expect(await online.takePending("u10")).toEqual({ items: ["aXRlbQ==", "aXRlbQ=="], overflow: true });
    await online.markLost("gw-dead", 10_000);
    expect(await online.pushesLost("gw-dead")).toBe(true);
    expect(await online.pushesLost("gw-live")).toBe(false);
  });

  it("rank: submit, top, around, season reset", async () => {
    const boards = new BoardStore(redis);
    expect(await boards.submit("weekly", "u1", 10, PolicyName.best)).toMatchObject({ changed: true, rank: 1, season: 1 });
    expect(await boards.submit("weekly", "u2", 20, PolicyName.best)).toMatchObject({ changed: true, rank: 1 });
    expect((await boards.top("weekly", 10, "cur")).entries.map((e) => [e.uid, e.score])).toEqual([["u2", 20], ["u1", 10]]);
    expect((await boards.around("weekly", "u1", 1, "cur")).me).toEqual({ rank: 2, uid: "u1", score: 10 });
    expect(await boards.resetSeason("weekly")).toBe(2);
    expect((await boards.top("weekly", 10, "prev")).total).toBe(2);
  });

  it("scene: claim, renew, join (moving between scenes), leave, release, orphans", async () => {
    const a = new SceneDirectory(redis, "scene-a", 60_000);
    const b = new SceneDirectory(redis, "scene-b", 60_000);
    expect((await a.claim("s1")).owner).toBe("scene-a");
    expect((await b.claim("s1")).owner).toBe("scene-a");
    expect(await a.renew(["s1"])).toEqual([]);
    expect(await b.renew(["s1"])).toEqual(["s1"]);
    expect(await a.join("s1", "u1", { gatewayId: "gw-1", sid: 1, uid: "u1" })).toBeNull();
    expect((await b.claim("s2")).owner).toBe("scene-b");
    expect(await b.join("s2", "u1", { gatewayId: "gw-1", sid: 1, uid: "u1" })).toBe("s1");
    await a.leave("s1", "u1");
    expect(await b.join("s2", "u1", { gatewayId: "gw-1", sid: 1, uid: "u1" })).toBeNull();
    await a.release("s1");
    expect(await a.orphans()).toEqual([]);
  });

  it("login: token issue with the per-user limit", async () => {
    const accounts = new AccountStore(redis);
    const uid = await accounts.create("cluster-user", "hash", "u1001");
    expect(uid).toBe("u1001");
    expect(await accounts.create("Cluster-User", "hash", "u1002")).toBeNull();
    const first = await accounts.issueToken(uid!, 60, 2);
    const second = await accounts.issueToken(uid!, 60, 2);
    const third = await accounts.issueToken(uid!, 60, 2);
    expect(third.revoked).toBe(1);
    // Issued in the same millisecond the first two expire together: either may be the one revoked.
    const stillValid = await Promise.all([first, second].map((t) => accounts.checkToken(t.token)));
    expect(stillValid.filter((v) => v === null)).toHaveLength(1);
    expect(await accounts.checkToken(third.token)).not.toBeNull();
    expect(await accounts.liveTokens(uid!)).toHaveLength(2);
  });

  it("team: create, join, invite, kick, transfer, leave, disband", async () => {
    const teams = new TeamStore(redis);
    await teams.create("a", "t1", "Reds", 4, false);
    await teams.invite("a", "b", Date.now() + 60_000, true);
    expect(await teams.join("b", "t1")).toEqual({ members: 2, already: false });
    await teams.invite("a", "c", Date.now() + 60_000, true);
    await teams.join("c", "t1");
    expect(await teams.kick("a", "c")).toEqual({ teamId: "t1", members: 2 });
    await teams.transfer("a", "b");
    expect(await teams.leave("a")).toMatchObject({ teamId: "t1", leader: "b", members: 1, disbanded: false });
    expect(await teams.disband("b")).toEqual({ teamId: "t1", members: ["b"] });
    expect(await teams.teamOf("b")).toBeNull();
  });

  it("team: a script run with the keys of a team the caller is not in answers retry; a stale membership is dropped", async () => {
    const teams = new TeamStore(redis);
    await teams.create("d", "t2", "Blues", 4, true);
    const keysOf = (id: string) => [TeamKeys.of("d"), TeamKeys.team(id), TeamKeys.members(id), TeamKeys.joined(id), TeamKeys.invites(id)] as const;
    expect(await LEAVE.run(redis, keysOf("t-other"), ["d", "t-other"])).toEqual(["retry"]);
    expect(await teams.teamOf("d")).toBe("t2");
    await redis.set(TeamKeys.of("e"), "t-gone");
    await teams.create("e", "t3", "Greens", 4, true);
    expect(await teams.teamOf("e")).toBe("t3");
  });

  it("game: quick join, join, locate, leave, seal, destroy", async () => {
    const rooms = new RoomDirectory(redis);
    await rooms.heartbeat("game-1", 60_000);
    expect(await rooms.quickJoin("p1", "duel", 2, "r1", "game-1", true)).toEqual({ kind: "created", roomId: "r1", instance: "game-1" });
    expect(await rooms.join("p2", "r1")).toEqual({ kind: "joined", roomId: "r1", instance: "game-1" });
    expect(await rooms.locate("p2")).toEqual({ roomId: "r1", instance: "game-1", mode: "duel", capacity: 2, seat: 1 });
    expect(await rooms.leave("p2", "r1", true)).toEqual({ kind: "left", members: 1 });
    expect(await rooms.sealInstance("game-1")).toBe(1);
    expect((await rooms.list("duel")).map((r) => r.status)).toEqual(["closed"]);
    await rooms.destroy("r1");
    expect(await rooms.locate("p1")).toBeNull();
    // a dead instance's rooms are swept in one script
    expect(await rooms.quickJoin("p3", "duel", 2, "r2", "game-2", true)).toMatchObject({ kind: "created", roomId: "r2" });
    const swept = await rooms.sweepInstance("game-2", true);
    expect(swept.map((r) => [r.roomId, r.seats.map((x) => x.uid)])).toEqual([["r2", ["p3"]]]);
    expect(await rooms.locate("p3")).toBeNull();
  });
  it("chat: join, leave (the room leaves the list with its last member), ban, private delivery with the inbox limit", async () => {
    const rooms = new RoomStore(redis, "world");
    expect(await rooms.join("u1", "lobby", 5)).toBe(1);
    expect(await rooms.join("u2", "lobby", 5)).toBe(2);
    expect(await rooms.leave("u2", "lobby")).toBe(true);
    expect(await rooms.leave("u2", "lobby")).toBe(false);
    expect(await rooms.leaveAll("u1")).toEqual(["lobby"]);
    expect(await rooms.list()).toEqual([{ room: "world", members: 0 }]);
    await rooms.join("u3", "lobby", 5);
    await rooms.ban("lobby", "u3", 60);
    expect(await rooms.isMember("u3", "lobby")).toBe(false);
    const inbox = new PrivateStore(redis, { inboxLimit: 2, conversationLength: 10 });
    const tell = (text: string) => ({ id: text, fromUid: "u1", fromUsername: "one", toUid: "u2", text, sentAt: Date.now() });
    expect(await inbox.deliver(tell("one"))).toBe(1);
    expect(await inbox.deliver(tell("two"))).toBe(2);
    await expect(inbox.deliver(tell("three"))).rejects.toMatchObject({ code: "CONFLICT" });
    expect((await inbox.inbox("u2", 0, 10)).messages.map((m) => [m.seq, m.text])).toEqual([[1, "one"], [2, "two"]]);
    expect((await inbox.conversation("u2", "u1", "", 10)).items.map((m) => m.text)).toEqual(["two", "one"]);
  });

  it("social: request, accept, remove, request withdrawn, decline, block", async () => {
    const social = new SocialStore(redis, { maxFriends: 10, maxPendingRequests: 10 });
    expect(await social.request("a", "b")).toBe("requested");
    await social.accept("b", "a");
    expect(await social.friendUids("a")).toEqual({ friends: ["b"], incoming: [], outgoing: [] });
    expect(await social.remove("a", "b")).toBe("removed");
    await social.request("a", "c");
    expect(await social.remove("a", "c")).toBe("withdrawn");
    await social.request("c", "a");
    await social.decline("a", "c");
    await social.request("a", "b");
    expect(await social.request("b", "a")).toBe("accepted");
    expect(await social.block("a", "b")).toBe(true);
    expect(await social.friendUids("b")).toEqual({ friends: [], incoming: [], outgoing: [] });
    await expect(social.request("b", "a")).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("snowflake lease: acquire, renew while owned, release", async () => {
    const lease = await WorkerLease.acquire(redis, { owner: "cluster-test", leaseMs: 60_000 });
    expect(await lease.renew()).toBe(true);
    await lease.release();
    expect(await redis.keys("sy:ids:worker:*")).toEqual([]);
  });
  it("ran every script the imported stores declare (a new script must be added above)", () => {
    expect(declaredRedisCommandNames().filter((name) => !ran.has(name))).toEqual([]);
  });
});
