import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as natsConnect, type NatsConnection } from "nats";
import { connect, type Client } from "../../src/client/index.js";
import { SystemSubject } from "../../src/bus/subjects.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import type { cluster as clusterProto, game, social } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { DEAD_CONFIRM_MS, SWEEP_INTERVAL_MS } from "../../src/module/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { requireBuild, startCli, until, type CliProcess } from "../helpers/ops.js";
import { nextPush } from "../helpers/pushes.js";
import { freePort, waitForPort } from "../helpers/servers.js";
import loginModule from "../../modules/login/index.js";
import socialModule from "../../modules/social/index.js";
import chatModule from "../../modules/chat/index.js";
import gameModule from "../../modules/game/index.js";
import { DropProxy } from "../helpers/drop-proxy.js";

describe("a gateway killed with -9: its sessions are adopted by the live gateway and announced closed once", () => {
  let cluster: TestCluster;
  let nc: NatsConnection;
  let doomed: CliProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    requireBuild();
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: socialModule, instances: 2 },
        { def: chatModule, instances: 1 },
        { def: gameModule, instances: 1 },
      ],
      config: {
        modules: {
          login: { instances: 2, settings: { scryptN: 1024 } },
          social: { instances: 2 },
          chat: { instances: 1 },
          game: { instances: 1, settings: { modes: { tictactoe: 2 }, reconnectWindowMs: 20_000 } },
        },
      },
    });
    nc = await natsConnect({ servers: cluster.nats.url });
    dir = mkdtempSync(join(tmpdir(), "sy-gw-death-"));
  });

  afterAll(async () => {
    if (doomed && doomed.proc.exitCode === null) doomed.proc.kill("SIGKILL");
    await nc?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("friends on the live gateway are pushed offline within the bound, sys.session.closed names the session and its successor", async () => {
    const port = await freePort();
    const config = join(dir, "cluster.json");
    writeFileSync(config, JSON.stringify({ ...cluster.config, gateways: [...cluster.config.gateways, { id: "gw-doomed", host: "127.0.0.1", port }] }));
    doomed = startCli(["gateway", "--config", config, "--id", "gw-doomed"]);
    await waitForPort(port, 15_000);

    const a = await cluster.loggedInClient("survivor", 0);
    const b: Client = await connect({ host: "127.0.0.1", port, heartbeatMs: 0 });
    await b.request("login.Register", { username: "doomed", password: "password-1" });
    const { uid: bUid, token: bToken } = await b.request("login.Login", { username: "doomed", password: "password-1" });
    await a.client.request("social.Request", { uid: bUid });
    await b.request("social.Accept", { uid: a.uid });
    expect((await a.client.request("social.Friends", {})).friends).toEqual([{ uid: bUid, username: "doomed", online: true }]);
    expect((await a.client.request("chat.Join", { room: "gw-death" })).members).toBe(1);
    expect((await b.request("chat.Join", { room: "gw-death" })).members).toBe(2);

    const codec = loadProto().message<clusterProto.SessionClosed>("cluster.SessionClosed");
    const closedEvents: clusterProto.SessionClosed[] = [];
    const closed = new Promise<clusterProto.SessionClosed>((resolve) => {
      nc.subscribe(SystemSubject.sessionClosed, {
        callback: (_err, msg) => {
          const ev = codec.decode(msg.data);
          if (ev.uid !== bUid) return;
          closedEvents.push(ev);
          resolve(ev);
        },
      });
    });
    const offline = nextPush<social.PresenceChange>(a.client, "social.Presence", (m) => m.uid === bUid && !m.online, 12_000);
    const killedAt = Date.now();
    doomed.proc.kill("SIGKILL");
    await doomed.exited;
    b.close().catch(() => undefined);

    expect(await offline).toEqual({ uid: bUid, online: false });
    const ev = await closed;
    console.log(`gateway killed -> friend pushed offline after ${Date.now() - killedAt} ms (sweep every ${SWEEP_INTERVAL_MS} ms, dead after two no-responders ${DEAD_CONFIRM_MS} ms apart)`);
    expect(ev.gatewayId).toBe("gw-doomed");
    expect(ev.reason).toMatch(/^gateway gw-doomed is gone: no responders for \d+ ms$/);
    // the live gateway adopted the session: an away session there keeps the uid's pushes for its resume
    expect(ev.successor).toMatch(/^gw-1\/\d+$/);
    const [, successorSid] = ev.successor.split("/");
    expect(await cluster.modules[0]!.runtime.onlineTable().lookup(bUid)).toEqual({ gatewayId: "gw-1", sid: Number(successorSid) });
    expect(await cluster.modules[0]!.runtime.onlineTable().sessionsOf("gw-doomed")).toEqual([]);
    // the channel's member count no longer counts the dead gateway's session
    const members = await until("chat room without the dead session", 5_000, async () => {
      const uids = (await a.client.request("chat.Members", { room: "gw-death" })).members.map((m: { uid: string }) => m.uid);
      return uids.length === 1 ? uids : undefined;
    });
    console.log(`gateway killed -> chat room count without its session after ${Date.now() - killedAt} ms`);
    expect(members).toEqual([a.uid]);
    expect((await a.client.request("chat.Rooms", {})).rooms.find((r: { room: string }) => r.room === "gw-death")).toMatchObject({ members: 1 });
    // the live gateway's session is untouched
    expect(await cluster.modules[0]!.runtime.onlineTable().lookup(a.uid)).toMatchObject({ gatewayId: "gw-1" });

    // The player comes back through the live gateway. Chat took it out of the room when the
    // adoption announced its session closed, so the resume says RESYNC: re-read (chat.Join again).
    // A channel it stays in is replayed gap-free (test/integration/gateway-gapfree.test.ts).
    const back = await cluster.client(0);
    const resumed = await back.request("login.Resume", { token: bToken, resumePushes: true, lastSeq: 0, recentPubs: [], listsPubs: true });
    expect(resumed).toMatchObject({ uid: bUid, resumeCode: ErrorCode.RESYNC, replayed: 0 });
    expect(await cluster.modules[0]!.runtime.onlineTable().lookup(bUid)).toMatchObject({ gatewayId: "gw-1" });
    // the dead session was announced closed once; the adopted one ended without a second event
    await new Promise((r) => setTimeout(r, 300));
    expect(closedEvents.map((e) => e.gatewayId)).toEqual(["gw-doomed"]);
  }, 30_000);
  it("a player in a game on the dead gateway resumes OK through the live one: the room's events of the death window replayed, the seat follows, the game goes on", async () => {
    const port = await freePort();
    const config = join(dir, "cluster-game.json");
    writeFileSync(config, JSON.stringify({ ...cluster.config, gateways: [...cluster.config.gateways, { id: "gw-doomed-game", host: "127.0.0.1", port }] }));
    doomed = startCli(["gateway", "--config", config, "--id", "gw-doomed-game"]);
    await waitForPort(port, 15_000);

    const a = await cluster.loggedInClient("game-survivor", 0);
    const proxy = await DropProxy.start({ host: "127.0.0.1", port });
    try {
      const b: Client = await connect({ host: "127.0.0.1", port: proxy.port, heartbeatMs: 0, reconnect: { minDelayMs: 30, maxDelayMs: 100, maxAttempts: 1_000, windowMs: 30_000 } });
      await b.request("login.Register", { username: "game-doomed", password: "password-1" });
      const { uid: bUid } = await b.request("login.Login", { username: "game-doomed", password: "password-1" });
      const events: game.RoomEvent[] = [];
      b.on<game.RoomEvent>("game.RoomEvent", (e) => events.push(e));
      const reconnects: { resync: boolean; replayed: number }[] = [];
      b.onReconnect((info) => reconnects.push(info));
      const ra = await a.client.request("game.QuickJoin", { mode: "tictactoe" });
      expect((await b.request("game.QuickJoin", { mode: "tictactoe" })).room?.phase).toBe("playing");

      // b's gateway dies; b reconnects only once the live gateway adopted its session
      proxy.refusing = true;
      proxy.upstream = cluster.gateways[0]!.address();
      doomed.proc.kill("SIGKILL");
      await doomed.exited;
      const table = cluster.modules[0]!.runtime.onlineTable();
      await until("b adopted by gw-1", 10_000, async () => ((await table.lookup(bUid))?.gatewayId === "gw-1" ? true : undefined));
      // the opponent moves meanwhile: the room's channel logs it
      await a.client.request("game.Move", { cell: 4 });
      proxy.refusing = false;
      await until("b resumed", 15_000, async () => (reconnects.length === 1 ? true : undefined));
      expect(reconnects[0]).toMatchObject({ resync: false });
      await until("the move of the death window replayed", 5_000, async () => (events.some((e) => e.kind === "moved" && e.cell === 4) ? true : undefined));
      const r = await b.request("game.Move", { cell: 0 });
      expect(r.room).toMatchObject({ roomId: ra.room!.roomId, board: "O...X...." });
      expect(r.room?.members.every((m) => m.connected)).toBe(true);
      await b.close();
    } finally {
      await proxy.stop();
    }
  }, 40_000);
});
