import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as natsConnect, type NatsConnection } from "nats";
import { instanceControlSubject } from "../../src/bus/discovery.js";
import { SystemSubject } from "../../src/bus/subjects.js";
import type { Client } from "../../src/client/index.js";
import type { cluster as clusterProto, scene } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { failure } from "../helpers/failure.js";
import { collectPushes, nextPush } from "../helpers/pushes.js";
import { DropProxy } from "../helpers/drop-proxy.js";
import loginModule from "../../modules/login/index.js";
import sceneModule from "../../modules/scene/index.js";

/** 100 × 100 map in 10-unit cells; 100 units/s; short reconnect window. */
const SETTINGS = {
  bounds: { minX: 0, minY: 0, maxX: 100, maxY: 100 },
  cellSize: 10,
  maxSpeed: 100,
  speedToleranceMs: 100,
  tickMs: 50,
  reconnectWindowMs: 1_200,
  leaseMs: 600,
};

interface Player {
  client: Client;
  uid: string;
  token: string;
  gateway: number;
  appear: scene.Appear[];
  disappear: scene.Disappear[];
  positions: scene.Positions[];
  corrections: scene.Correction[];
}

const uidsOf = (list: readonly { uid: string }[]) => list.map((p) => p.uid).sort();

describe("scene module through real gateways (2 gateways, 2 scene instances)", () => {
  let cluster: TestCluster;
  let nc: NatsConnection;
  let seq = 0;
  let sceneSeq = 0;

  async function player(gateway: number): Promise<Player> {
    const { client, uid, token } = await cluster.loggedInClient(`walker${++seq}`, gateway);
    return {
      client,
      uid,
      token,
      gateway,
      appear: collectPushes(client, "scene.Appear"),
      disappear: collectPushes(client, "scene.Disappear"),
      positions: collectPushes(client, "scene.Positions"),
      corrections: collectPushes(client, "scene.Correction"),
    };
  }

  const enter = (p: Player, sceneId: string, x: number, y: number) => p.client.request("scene.Enter", { sceneId, x, y });
  /** A NOTIFY move; nothing comes back unless it is refused. */
  const move = (p: Player, x: number, y: number, s: number) => p.client.notify("scene.Move", { x, y, dir: 0, seq: s });
  /**
   * A round trip to the scene's owner (Enter again: it only rebinds): every push the owner
   * published before it has reached `p` when it resolves (NATS and the gateway keep the order).
   */
  const settle = (p: Player, sceneId: string) => enter(p, sceneId, 0, 0);
  /** Resolves once `p` got a Positions push holding `uid` with move number `s`. */
  const positionOf = (p: Player, uid: string, s: number) =>
    nextPush<scene.Positions>(p.client, "scene.Positions", (m) => m.players.some((q) => q.uid === uid && q.seq === s));

  async function served(instanceId: string): Promise<number> {
    const reply = await nc.request(instanceControlSubject(instanceId, "status"), "", { timeout: 2_000 });
    return (JSON.parse(new TextDecoder().decode(reply.data)) as { served: number }).served;
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      gateways: 2,
      modules: [
        { def: loginModule, instances: 1 },
        { def: sceneModule, instances: 2 },
      ],
      config: { modules: { login: { instances: 1, settings: { scryptN: 1024 } }, scene: { instances: 2, ordered: false, settings: SETTINGS } } },
    });
    nc = await natsConnect({ servers: cluster.nats.url });
  });

  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it("enter: the newcomer gets everyone in its nine cells and they get it, across gateways; a far player gets nothing", async () => {
    const id = `s${++sceneSeq}`;
    const [a, b, far] = [await player(0), await player(1), await player(0)];
    const ra = await enter(a, id, 5, 5);
    expect(ra.players).toEqual([]);
    expect(ra.self).toEqual({ uid: a.uid, x: 5, y: 5, dir: 0, seq: 0 });
    expect(ra.cellSize).toBe(10);
    const rFar = await enter(far, id, 55, 55);
    expect(rFar.players).toEqual([]);
    const appearForA = nextPush<scene.Appear>(a.client, "scene.Appear");
    const rb = await enter(b, id, 15, 5); // the next cell: a neighbour of a, on the other gateway
    expect(rb.players).toEqual([{ uid: a.uid, x: 5, y: 5, dir: 0, seq: 0 }]);
    expect(await appearForA).toEqual({ sceneId: id, players: [{ uid: b.uid, x: 15, y: 5, dir: 0, seq: 0 }] });
    await settle(far, id);
    expect(far.appear).toEqual([]);
    // One owner for the scene, and every reply names it.
    expect(new Set([ra.instanceId, rb.instanceId, rFar.instanceId]).size).toBe(1);
    expect(cluster.modules.map((m) => m.instanceId)).toContain(ra.instanceId);
  });

  it("moves reach the players of the nine cells only, batched: the last state of each mover, one push per tick at most", async () => {
    const id = `s${++sceneSeq}`;
    const [a, b, c, far] = [await player(0), await player(1), await player(1), await player(0)];
    await enter(a, id, 15, 15);
    await enter(b, id, 16, 16);
    await enter(c, id, 25, 25); // diagonal neighbour cell
    await enter(far, id, 95, 95);
    const atB = positionOf(b, a.uid, 5);
    const atC = [positionOf(c, b.uid, 1), positionOf(c, a.uid, 5)];
    for (let i = 1; i <= 5; i++) move(a, 15 + i * 0.5, 15, i);
    move(b, 16, 17, 1);
    await Promise.all([atB, ...atC]);
    await Promise.all([settle(far, id), settle(a, id)]);
    expect(far.positions).toEqual([]);
    for (const p of [a, b, c]) {
      for (const push of p.positions) {
        const uids = push.players.map((q) => q.uid);
        expect(new Set(uids).size).toBe(uids.length); // one state per mover per push
        expect(uids).not.toContain(p.uid); // never your own moves
      }
    }
    const lastOfA = c.positions.flatMap((m) => m.players).filter((q) => q.uid === a.uid).at(-1);
    expect(lastOfA).toEqual({ uid: a.uid, x: 17.5, y: 15, dir: 0, seq: 5 });
    expect(b.positions.flatMap((m) => m.players).map((q) => q.uid)).toEqual(expect.arrayContaining([a.uid]));
    console.log(`6 moves: b got ${b.positions.length} Positions push(es), c got ${c.positions.length}`);
    expect(b.corrections).toEqual([]);
  });

  it("crossing a cell boundary: exactly the right appear and disappear on both sides; a neighbour on both sides sees neither", async () => {
    const id = `s${++sceneSeq}`;
    const [m, west, mid, east] = [await player(0), await player(1), await player(0), await player(1)];
    await enter(west, id, 5, 5); // cell (0,0)
    await enter(mid, id, 25, 5); // (2,0)
    await enter(east, id, 35, 5); // (3,0)
    const rm = await enter(m, id, 15, 5); // (1,1): sees west and mid
    expect(uidsOf(rm.players)).toEqual([mid.uid, west.uid].sort());
    const mGone = nextPush<scene.Disappear>(m.client, "scene.Disappear");
    const mNew = nextPush<scene.Appear>(m.client, "scene.Appear");
    const westSees = nextPush<scene.Disappear>(west.client, "scene.Disappear");
    const eastSees = nextPush<scene.Appear>(east.client, "scene.Appear");
    const midSees = positionOf(mid, m.uid, 1);
    move(m, 20.5, 5, 1); // into (2,0): west out of view, east into view
    expect(await mGone).toEqual({ sceneId: id, uids: [west.uid], reason: "moved" });
    expect(await mNew).toEqual({ sceneId: id, players: [{ uid: east.uid, x: 35, y: 5, dir: 0, seq: 0 }] });
    expect(await westSees).toEqual({ sceneId: id, uids: [m.uid], reason: "moved" });
    expect(await eastSees).toEqual({ sceneId: id, players: [{ uid: m.uid, x: 20.5, y: 5, dir: 0, seq: 1 }] });
    await midSees;
    await Promise.all([m, west, mid, east].map((p) => settle(p, id)));
    expect(mid.appear.filter((e) => e.players.some((q) => q.uid === m.uid))).toHaveLength(1); // only its enter
    expect(mid.disappear).toEqual([]);
    expect(m.appear.flatMap((e) => e.players.map((q) => q.uid))).toEqual([east.uid]);
    expect(m.disappear.flatMap((e) => e.uids)).toEqual([west.uid]);
    expect(west.positions.flatMap((e) => e.players).filter((q) => q.uid === m.uid)).toEqual([]);
  });

  it("a move faster than maxSpeed or out of bounds: a Correction with the server's position, and neighbours see nothing", async () => {
    const id = `s${++sceneSeq}`;
    const [a, b] = [await player(0), await player(1)];
    await enter(a, id, 50, 50);
    await enter(b, id, 51, 51);
    const first = nextPush<scene.Correction>(a.client, "scene.Correction");
    move(a, 99, 99, 1);
    expect(await first).toEqual({ sceneId: id, self: { uid: a.uid, x: 50, y: 50, dir: 0, seq: 0 }, reason: "too fast" });
    const second = nextPush<scene.Correction>(a.client, "scene.Correction");
    move(a, 50, 100.5, 2);
    expect(await second).toMatchObject({ reason: "out of bounds", self: { x: 50, y: 50 } });
    const ok = positionOf(b, a.uid, 3);
    move(a, 52, 50, 3);
    expect((await ok).players.find((q) => q.uid === a.uid)).toEqual({ uid: a.uid, x: 52, y: 50, dir: 0, seq: 3 });
    expect(b.positions.flatMap((e) => e.players).filter((q) => q.seq === 1 || q.seq === 2)).toEqual([]);
    expect(a.corrections).toHaveLength(2);
  });

  it("the session is pinned to the scene's instance: its requests never reach the other one", async () => {
    const scenes = await Promise.all(Array.from({ length: 6 }, async () => {
      const id = `s${++sceneSeq}`;
      const p = await player(sceneSeq % 2);
      return { id, p, owner: (await enter(p, id, 1, 1)).instanceId };
    }));
    const owners = new Set(scenes.map((s) => s.owner));
    console.log(`6 scenes entered through the queue group: owners ${[...owners].join(", ")}`);
    const { id, p, owner } = scenes[0]!;
    const other = cluster.modules.find((m) => m.runtime.name === "scene" && m.instanceId !== owner)!.instanceId;
    const before = { owner: await served(owner), other: await served(other) };
    for (let i = 0; i < 20; i++) await p.client.request("scene.Chat", { text: `hello ${i}` });
    expect(await served(other)).toBe(before.other);
    expect(await served(owner)).toBe(before.owner + 20);
    // A second player entering the same scene through either instance lands on the owner.
    const q = await player(1);
    expect((await enter(q, id, 2, 2)).instanceId).toBe(owner);
  });

  it("world chat reaches every player of the scene, near or far, on both gateways", async () => {
    const id = `s${++sceneSeq}`;
    const [a, b, far] = [await player(0), await player(1), await player(1)];
    await enter(a, id, 1, 1);
    await enter(b, id, 2, 2);
    await enter(far, id, 99, 99);
    const got = [b, far, a].map((p) => nextPush<scene.ChatMessage>(p.client, "scene.ChatMessage"));
    await a.client.request("scene.Chat", { text: "hi all" });
    for (const m of await Promise.all(got)) expect(m).toMatchObject({ sceneId: id, fromUid: a.uid, text: "hi all" });
    expect((await failure(a.client.request("scene.Chat", { text: "" }))).code).toBe("BAD_REQUEST");
  });

  it("leave: neighbours get Disappear 'left'; entering another scene while in one is CONFLICT", async () => {
    const [a, b] = [await player(0), await player(1)];
    const id = `s${++sceneSeq}`;
    await enter(a, id, 1, 1);
    await enter(b, id, 2, 2);
    const other = `s${++sceneSeq}`;
    const refused = await failure(enter(a, other, 1, 1));
    expect(refused.code).toBe("CONFLICT");
    expect(refused.message).toBe(`you are in scene ${id}: scene.Leave it first`);
    const gone = nextPush<scene.Disappear>(b.client, "scene.Disappear");
    expect(await a.client.request("scene.Leave", {})).toEqual({ sceneId: id });
    expect(await gone).toEqual({ sceneId: id, uids: [a.uid], reason: "left" });
    expect((await failure(a.client.request("scene.Chat", { text: "x" }))).code).toBe("NOT_FOUND");
    expect((await enter(a, other, 1, 1)).sceneId).toBe(other);
  });

  it("disconnect: the player stays for the reconnect window (Resume + Enter keeps its place), then disappears for its neighbours", async () => {
    const id = `s${++sceneSeq}`;
    const [a, b] = [await player(0), await player(1)];
    await enter(a, id, 40, 40);
    await enter(b, id, 41, 41);
    await a.client.close();
    const back = await cluster.client(1);
    await back.request("login.Resume", { token: a.token });
    const again = await back.request("scene.Enter", { sceneId: id, x: 0, y: 0 });
    expect(again.self).toMatchObject({ uid: a.uid, x: 40, y: 40 }); // its place, not the one asked for
    expect(uidsOf(again.players)).toEqual([b.uid]);
    const gone = nextPush<scene.Disappear>(b.client, "scene.Disappear", () => true, 5_000);
    const closedAt = Date.now();
    await back.close();
    expect(await gone).toEqual({ sceneId: id, uids: [a.uid], reason: "disconnected" });
    console.log(`disconnect → Disappear after ${Date.now() - closedAt} ms (reconnectWindowMs ${SETTINGS.reconnectWindowMs})`);
    expect(b.disappear).toHaveLength(1); // nothing during the first disconnect
  });

  it("a player whose connection drops receives its neighbours' moves again right after the SDK's resume, with no call of its own", async () => {
    const id = `s${++sceneSeq}`;
    const proxy = await DropProxy.start(cluster.gateways[0]!.address());
    try {
      const client = await cluster.client(0, { host: "127.0.0.1", port: proxy.port, reconnect: { minDelayMs: 30, maxDelayMs: 100, maxAttempts: 100, windowMs: 10_000 } });
      const name = `walker-drop${++seq}`;
      await client.request("login.Register", { username: name, password: "password-1" });
      const { uid } = await client.request("login.Login", { username: name, password: "password-1" });
      const b = await player(1);
      await client.request("scene.Enter", { sceneId: id, x: 70, y: 70 });
      await enter(b, id, 71, 71);
      const resumed = new Promise<void>((resolve) => client.onReconnect(() => resolve()));
      proxy.drop();
      await resumed;
      // the scene hears the resume's sys.session.opened and sends to the new session at once
      const seen = nextPush<scene.Positions>(client, "scene.Positions", (m) => m.players.some((q) => q.uid === b.uid && q.seq === 1), 5_000);
      await settle(b, id);
      move(b, 72, 71, 1);
      expect((await seen).players.find((q) => q.uid === b.uid)).toMatchObject({ x: 72, y: 71 });
      expect(b.disappear.filter((d) => d.uids.includes(uid))).toEqual([]);
      await client.close();
    } finally {
      await proxy.stop();
    }
  });

  it("a Move from a live connection the scene was told is closed (a false gateway-death verdict) rebinds the player: neighbours see it move, it receives again", async () => {
    const id = `s${++sceneSeq}`;
    const proto = loadProto();
    const openedCodec = proto.message<clusterProto.SessionOpened>("cluster.SessionOpened");
    const opened: clusterProto.SessionOpened[] = [];
    const sub = nc.subscribe(SystemSubject.sessionOpened, { callback: (_e, m) => opened.push(openedCodec.decode(m.data)) });
    await nc.flush();
    const [a, b] = [await player(0), await player(1)];
    sub.unsubscribe();
    const aSession = opened.find((o) => o.uid === a.uid)!;
    expect(aSession).toBeDefined();
    await enter(a, id, 60, 60);
    await enter(b, id, 61, 61);
    // What the gateway sweep publishes when it declares a's gateway dead while it still serves a.
    const closedCodec = proto.message<clusterProto.SessionClosed>("cluster.SessionClosed");
    nc.publish(SystemSubject.sessionClosed, closedCodec.encode({ gatewayId: aSession.gatewayId, sid: aSession.sid, uid: a.uid, reason: "test: gateway presumed dead" }));
    await nc.flush();
    // Chat round trips reach the owner after the event (both scene instances heard it by then).
    await settle(b, id);
    const errors: string[] = [];
    a.client.onError((e) => errors.push(e.message));
    const seen = positionOf(b, a.uid, 1);
    const view = nextPush<scene.Appear>(a.client, "scene.Appear", (m) => m.players.some((q) => q.uid === b.uid));
    move(a, 62, 60, 1);
    expect((await seen).players.find((q) => q.uid === a.uid)).toEqual({ uid: a.uid, x: 62, y: 60, dir: 0, seq: 1 });
    expect(await view).toEqual({ sceneId: id, players: [{ uid: b.uid, x: 61, y: 61, dir: 0, seq: 0 }] });
    const back = positionOf(a, b.uid, 1);
    move(b, 61, 62, 1);
    await back;
    // The window was cancelled: b never sees a disappear.
    await new Promise((r) => setTimeout(r, SETTINGS.reconnectWindowMs + 300));
    await settle(b, id);
    expect(b.disappear).toEqual([]);
    expect(errors).toEqual([]);
  });
});
