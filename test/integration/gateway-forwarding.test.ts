import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, headers as natsHeaders, type Msg, type NatsConnection } from "nats";
import { DEFAULT_CONFIG, type GatewaySettings } from "../../src/config/cluster-config.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { Header } from "../../src/bus/headers.js";
import { SystemSubject, channelSubject, gatewayBindSubject, gatewayCommandSubject } from "../../src/bus/subjects.js";
import type { cluster } from "../../src/generated/proto.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { loadProto } from "../../src/proto/registry.js";
import { PacketKind } from "../../src/protocol/packet.js";
import { startNats, type RunningServer } from "../helpers/servers.js";
import { RawClient } from "./gateway-raw-client.js";

const proto = loadProto();
const commandCodec = proto.message<cluster.GatewayCommand>("cluster.GatewayCommand");
const ackCodec = proto.message<cluster.CommandAck>("cluster.CommandAck");
const channelCodec = proto.message<cluster.ChannelMessage>("cluster.ChannelMessage");
const closedCodec = proto.message<cluster.SessionClosed>("cluster.SessionClosed");

const settings: GatewaySettings = {
  ...DEFAULT_CONFIG.gateway,
  publicRoutes: ["echo.Public", "echo.Headers"],
  maxFrameBytes: 1024,
  requestTimeoutMs: 300,
};

interface Seen {
  subject: string;
  gw: string;
  sid: string;
  uid: string | null;
  rid: string;
}

describe("gateway forwarding (real nats-server)", () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  let gwA: Gateway;
  let gwB: Gateway;
  const seen: Seen[] = [];
  const clients: RawClient[] = [];

  function record(msg: Msg): Seen {
    const h = msg.headers;
    const s: Seen = {
      subject: msg.subject,
      gw: h?.get(Header.gateway) ?? "",
      sid: h?.get(Header.session) ?? "",
      uid: h?.has(Header.uid) ? h.get(Header.uid) : null,
      rid: h?.get(Header.requestId) ?? "",
    };
    seen.push(s);
    return s;
  }

  async function start(id: string, overrides: Partial<GatewaySettings> = {}): Promise<Gateway> {
    return createGateway({
      id,
      port: 0,
      settings: { ...settings, ...overrides },
      nats: { url: nats.url },
      logger: createLogger("gateway", id, process.env.SWITCHYARD_TEST_LOG ?? "silent"),
    });
  }

  async function client(gw: Gateway): Promise<RawClient> {
    const c = await RawClient.connect(gw.address().port);
    clients.push(c);
    return c;
  }

  /** The sid the gateway gave this client (asked through a public route that echoes headers). */
  async function sidOf(c: RawClient): Promise<number> {
    const r = await c.request(60_000, "echo.Headers");
    expect(r.kind).toBe(PacketKind.RESPONSE);
    return Number((JSON.parse(Buffer.from(r.body).toString()) as Seen).sid);
  }

  async function command(gwId: string, cmd: Partial<cluster.GatewayCommand>): Promise<cluster.CommandAck> {
    const subject = cmd.bind ? gatewayBindSubject(gwId) : gatewayCommandSubject(gwId);
    const reply = await nc.request(subject, commandCodec.encode(cmd), { timeout: 2_000 });
    return ackCodec.decode(reply.data);
  }

  async function bound(gw: Gateway, uid: string): Promise<{ c: RawClient; sid: number }> {
    const c = await client(gw);
    const sid = await sidOf(c);
    expect(await command(gw.id, { bind: { sid, uid, resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [] } })).toMatchObject({ ok: true });
    return { c, sid };
  }

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    nc.subscribe("svc.echo.*", {
      queue: "echo",
      callback: (_err, msg) => {
        const s = record(msg);
        const method = msg.subject.slice("svc.echo.".length);
        if (method === "Never") return;
        if (method === "Headers") msg.respond(Buffer.from(JSON.stringify(s)));
        else if (method === "Fail") {
          const h = natsHeaders();
          h.set(Header.errorCode, String(ErrorCode.CONFLICT));
          h.set(Header.errorMessage, "room is full: pick another");
          msg.respond(new Uint8Array(0), { headers: h });
        } else if (method === "Pin" || method === "Unpin") {
          const h = natsHeaders();
          h.set(Header.pin, method === "Pin" ? "echo-i1" : "");
          msg.respond(msg.data, { headers: h });
        } else if (method === "Slow") setTimeout(() => msg.respond(msg.data), 150);
        else msg.respond(msg.data);
      },
    });
    nc.subscribe("inst.echo-i1.*", {
      callback: (_err, msg) => {
        record(msg);
        msg.respond(Buffer.concat([Buffer.from("pinned:"), msg.data]));
      },
    });
    await nc.flush();
    [gwA, gwB] = await Promise.all([start("gw-a"), start("gw-b")]);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([gwA?.stop(), gwB?.stop()]);
    await nc?.close();
    await nats?.stop();
  });

  it("forwards a public request byte-identical and stamps gateway headers (no uid before bind)", async () => {
    const c = await client(gwA);
    const body = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);
    const r = await c.request(1, "echo.Public", body);
    expect(r.kind).toBe(PacketKind.RESPONSE);
    expect(Buffer.from(r.body).equals(body)).toBe(true);
    const s = seen.findLast((x) => x.subject === "svc.echo.Public")!;
    expect(s.gw).toBe("gw-a");
    expect(Number(s.sid)).toBeGreaterThan(0);
    expect(s.uid).toBeNull();
    expect(s.rid).toMatch(/^gw-a-/);
    const r2 = await c.request(2, "echo.Public", body);
    expect(r2.kind).toBe(PacketKind.RESPONSE);
    const rids = seen.filter((x) => x.subject === "svc.echo.Public").map((x) => x.rid);
    expect(new Set(rids).size).toBe(rids.length);
  });

  it("answers a client heartbeat with one heartbeat", async () => {
    const c = await client(gwA);
    c.send(PacketKind.HEARTBEAT, 0, "");
    expect((await c.nextKind(PacketKind.HEARTBEAT)).kind).toBe(PacketKind.HEARTBEAT);
  });

  it("refuses a non-public route before bind with UNAUTHENTICATED and does not forward it", async () => {
    const c = await client(gwA);
    const before = seen.filter((x) => x.subject === "svc.echo.Echo").length;
    const r = await c.request(1, "echo.Echo", Buffer.from("x"));
    expect(r).toMatchObject({ kind: PacketKind.ERROR, code: ErrorCode.UNAUTHENTICATED });
    await nc.flush();
    expect(seen.filter((x) => x.subject === "svc.echo.Echo").length).toBe(before);
  });

  it("answers a malformed route with BAD_REQUEST", async () => {
    const c = await client(gwA);
    expect(await c.request(1, "no-dot")).toMatchObject({ kind: PacketKind.ERROR, code: ErrorCode.BAD_REQUEST });
    expect(await c.request(2, "a.b.c")).toMatchObject({ kind: PacketKind.ERROR, code: ErrorCode.BAD_REQUEST });
  });

  it("stamps sy-uid after a bind through gw.<id>.bind, and re-binds", async () => {
    const { c, sid } = await bound(gwA, "user-1");
    const r = await c.request(1, "echo.Echo", Buffer.from("hello"));
    expect(r.kind).toBe(PacketKind.RESPONSE);
    expect(Buffer.from(r.body).toString()).toBe("hello");
    expect(seen.findLast((x) => x.subject === "svc.echo.Echo")).toMatchObject({ uid: "user-1", sid: String(sid), gw: "gw-a" });
    expect(await command("gw-a", { bind: { sid, uid: "user-2", resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [] } })).toMatchObject({ ok: true });
    await c.request(2, "echo.Echo", Buffer.from("again"));
    expect(seen.findLast((x) => x.subject === "svc.echo.Echo")?.uid).toBe("user-2");
    // bind has a subject of its own (NATS permissions let only auth modules publish it)
    const onCmd = await nc.request(gatewayCommandSubject("gw-a"), commandCodec.encode({ bind: { sid, uid: "user-3", resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [] } }), { timeout: 2_000 });
    expect(ackCodec.decode(onCmd.data)).toMatchObject({ ok: false, error: "bind goes to gw.gw-a.bind, not gw.gw-a.cmd", resumeCode: 0, replayed: 0 });
    await c.request(3, "echo.Echo", Buffer.from("still"));
    expect(seen.findLast((x) => x.subject === "svc.echo.Echo")?.uid).toBe("user-2");
  });

  it("acks a command for an unknown session with ok=false and the reason", async () => {
    expect(await command("gw-a", { bind: { sid: 999_999, uid: "x", resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [] } })).toMatchObject({ ok: false, error: "no session 999999 on gw-a", resumeCode: 0, replayed: 0 });
    const reply = await nc.request(gatewayCommandSubject("gw-a"), Buffer.from([0xff, 0xff, 0xff]), { timeout: 2_000 });
    const ack = ackCodec.decode(reply.data);
    expect(ack.ok).toBe(false);
    expect(ack.error).toMatch(/GatewayCommand/);
  });

  it("answers UNAVAILABLE at once for a module that is not running", async () => {
    const { c } = await bound(gwA, "user-3");
    // UNAVAILABLE comes only from nats-server's immediate no-responders status; a request
    // left to the deadline would be answered TIMEOUT, so the code alone shows it was at once.
    const r = await c.request(1, "nomodule.Do");
    expect(r).toMatchObject({ kind: PacketKind.ERROR, code: ErrorCode.UNAVAILABLE });
    expect(r.message).toMatch(/nomodule/);
  });

  it("answers TIMEOUT when the module never replies", async () => {
    const { c } = await bound(gwA, "user-4");
    const r = await c.request(1, "echo.Never");
    expect(r).toMatchObject({ kind: PacketKind.ERROR, code: ErrorCode.TIMEOUT });
  });

  it("turns error headers into ERROR with that code and message", async () => {
    const { c } = await bound(gwA, "user-5");
    const r = await c.request(7, "echo.Fail");
    expect(r).toMatchObject({ kind: PacketKind.ERROR, id: 7, code: ErrorCode.CONFLICT, message: "room is full: pick another" });
  });

  it("honours sy-pin: later requests to the module go to inst.<id>.<Method>, empty pin clears it", async () => {
    const { c } = await bound(gwA, "user-6");
    expect((await c.request(1, "echo.Pin", Buffer.from("a"))).kind).toBe(PacketKind.RESPONSE);
    const r = await c.request(2, "echo.Echo", Buffer.from("b"));
    expect(Buffer.from(r.body).toString()).toBe("pinned:b");
    expect(seen.findLast((x) => x.uid === "user-6")?.subject).toBe("inst.echo-i1.Echo");
    // the pinned instance answers Unpin too (it echoes with a prefix); then unpin via svc
    const other = await bound(gwA, "user-6b");
    await other.c.request(1, "echo.Unpin");
    expect(seen.findLast((x) => x.uid === "user-6b")?.subject).toBe("svc.echo.Unpin");
  });

  it("clears the pin when the pinned instance is gone (UNAVAILABLE)", async () => {
    const { c } = await bound(gwA, "user-7");
    const sub = nc.subscribe("svc.echo.PinGone", {
      queue: "echo2",
      callback: (_e, msg) => {
        const h = natsHeaders();
        h.set(Header.pin, "gone-instance");
        msg.respond(msg.data, { headers: h });
      },
    });
    await nc.flush();
    await c.request(1, "echo.PinGone");
    sub.unsubscribe();
    await nc.flush();
    const r = await c.request(2, "echo.Echo", Buffer.from("z"));
    expect(r).toMatchObject({ kind: PacketKind.ERROR, code: ErrorCode.UNAVAILABLE });
    const r2 = await c.request(3, "echo.Echo", Buffer.from("z"));
    expect(r2.kind).toBe(PacketKind.RESPONSE);
    expect(Buffer.from(r2.body).toString()).toBe("z");
  });

  it("pushes to a sid through gw.<id>.cmd", async () => {
    const c = await client(gwA);
    const sid = await sidOf(c);
    expect(await command("gw-a", { push: { sids: [sid], route: "game.Tick", body: Buffer.from([1, 2, 3]), uid: "" } })).toMatchObject({ ok: true });
    const p = await c.nextKind(PacketKind.PUSH);
    expect(p.route).toBe("game.Tick");
    expect([...p.body]).toEqual([1, 2, 3]);
  });

  it("a point push (pushToUid) that reaches a session before its bind waits for the bind and goes out with seq 1", async () => {
    const c = await client(gwA);
    const sid = await sidOf(c);
    const pushed = command("gw-a", { push: { sids: [sid], route: "game.Tick", body: Buffer.from([4]), uid: "early-bird" } });
    expect(await pushed).toMatchObject({ ok: true });
    await expect(c.nextKind(PacketKind.PUSH, 300)).rejects.toThrow();
    expect(await command("gw-a", { bind: { sid, uid: "early-bird", resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [] } })).toMatchObject({ ok: true });
    const p = await c.nextKind(PacketKind.PUSH);
    expect({ route: p.route, body: [...p.body], seq: p.seq }).toEqual({ route: "game.Tick", body: [4], seq: 1 });
  });

  it("answers the sweeper's Ping with the gateway's start time, and never a module's lost-push probe", async () => {
    const ack = await command("gw-a", { ping: {} });
    expect(ack.ok).toBe(true);
    expect(ack.startedAt).toBeGreaterThan(Date.now() - 600_000);
    expect(ack.startedAt).toBeLessThanOrEqual(Date.now());
    const probe = "_SY.probe-test.gw-a.lost";
    let answered = 0;
    const sub = nc.subscribe(probe, { callback: () => answered++ });
    const c = await client(gwA);
    const sid = await sidOf(c);
    nc.publish(gatewayCommandSubject("gw-a"), commandCodec.encode({ push: { sids: [sid], route: "game.Tick", body: Buffer.from([5]), uid: "" } }), { reply: probe });
    expect((await c.nextKind(PacketKind.PUSH)).route).toBe("game.Tick");
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(0);
    sub.unsubscribe();
  });

  it("delivers a channel message to members on two gateways, honouring exclude_uids", async () => {
    const m1 = await bound(gwA, "ch-1");
    const m2 = await bound(gwB, "ch-2");
    const m3 = await bound(gwA, "ch-3");
    for (const [gw, m] of [["gw-a", m1], ["gw-b", m2], ["gw-a", m3]] as const) {
      expect(await command(gw, { join: { sid: m.sid, channel: "room.1" } })).toMatchObject({ ok: true });
    }
    nc.publish(channelSubject("room.1"), channelCodec.encode({ route: "room.Say", body: Buffer.from("hi"), excludeUids: ["ch-3"] }));
    nc.publish(channelSubject("room.1"), channelCodec.encode({ route: "room.Say", body: Buffer.from("all"), excludeUids: [] }));
    for (const m of [m1, m2]) {
      const p = await m.c.nextKind(PacketKind.PUSH);
      expect(p.route).toBe("room.Say");
      expect(Buffer.from(p.body).toString()).toBe("hi");
      expect(Buffer.from((await m.c.nextKind(PacketKind.PUSH)).body).toString()).toBe("all");
    }
    // ch-3 was excluded from the first message: the first push it sees is the second one
    expect(Buffer.from((await m3.c.nextKind(PacketKind.PUSH)).body).toString()).toBe("all");
    expect(await command("gw-b", { leave: { sid: m2.sid, channel: "room.1" } })).toMatchObject({ ok: true });
    nc.publish(channelSubject("room.1"), channelCodec.encode({ route: "room.Say", body: Buffer.from("after") }));
    expect(Buffer.from((await m1.c.nextKind(PacketKind.PUSH)).body).toString()).toBe("after");
    await expect(m2.c.nextKind(PacketKind.PUSH, 150)).rejects.toThrow();
  });

  it("kicks every session of a uid: KICK then close, and announces sys.session.closed", async () => {
    const closed: cluster.SessionClosed[] = [];
    const sub = nc.subscribe(SystemSubject.sessionClosed, { callback: (_e, m) => closed.push(closedCodec.decode(m.data)) });
    await nc.flush();
    const a = await bound(gwA, "kick-me");
    const b = await bound(gwA, "kick-me");
    expect(await command("gw-a", { kick: { sid: 0, uid: "kick-me", code: ErrorCode.CONFLICT, reason: "logged in elsewhere", handover: false } })).toMatchObject({ ok: true });
    for (const m of [a, b]) {
      expect(await m.c.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.CONFLICT, message: "logged in elsewhere" });
      await m.c.closed;
    }
    await nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    sub.unsubscribe();
    const mine = closed.filter((x) => x.uid === "kick-me");
    expect(mine.map((x) => x.sid).sort()).toEqual([a.sid, b.sid].sort());
    expect(mine[0]).toMatchObject({ gatewayId: "gw-a", reason: "logged in elsewhere" });
  });

  it("closes a connection sending an oversized frame with KICK PROTOCOL; another keeps working", async () => {
    const bad = await client(gwA);
    const good = await client(gwA);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(2_000);
    bad.socket.write(prefix);
    const k = await bad.nextKind(PacketKind.KICK);
    expect(k.code).toBe(ErrorCode.PROTOCOL);
    expect(k.message).toBe("frame of 2000 bytes exceeds the limit of 1024");
    await bad.closed;
    expect((await good.request(1, "echo.Public", Buffer.from("ok"))).kind).toBe(PacketKind.RESPONSE);
  });

  it("closes a connection sending garbage with a reason", async () => {
    const c = await client(gwA);
    c.socket.write(Buffer.from([0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const k = await c.nextKind(PacketKind.KICK);
    expect(k.code).toBe(ErrorCode.PROTOCOL);
    expect(k.message).toMatch(/malformed packet/);
    await c.closed;
    const d = await client(gwA);
    d.send(PacketKind.PUSH, 0, "x.Y");
    expect((await d.nextKind(PacketKind.KICK)).message).toMatch(/kind 4 may not be sent by a client/);
    await d.closed;
  });

  it("drains: reads nothing more, answers the requests already read, then moves the session to another gateway (KICK MOVED)", async () => {
    const gw = await start("gw-drain", { requestTimeoutMs: 2_000 });
    const { c } = await bound(gw, "drainer");
    const slow = c.request(1, "echo.Slow", Buffer.from("slow"));
    for (let i = 0; i < 200 && !seen.some((x) => x.gw === "gw-drain" && x.subject === "svc.echo.Slow"); i++) await new Promise((r) => setTimeout(r, 5));
    const drained = gw.drain();
    expect(gw.drain()).toBe(drained);
    expect(gw.stop()).toBe(drained);
    // sent after the drain began: never read, so never answered (a client resends it elsewhere)
    const unread = c.request(2, "echo.Public").then((p) => p.kind);
    const r = await slow;
    expect(r.kind).toBe(PacketKind.RESPONSE);
    expect(Buffer.from(r.body).toString()).toBe("slow");
    // the other gateways of this file are ready: the redirect names one of them
    expect(await c.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.MOVED, redirect: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(await Promise.race([unread, new Promise((r) => setTimeout(() => r("no answer"), 300))])).toBe("no answer");
    expect(seen.some((x) => x.gw === "gw-drain" && x.subject === "svc.echo.Public")).toBe(false);
    await drained;
    expect(gw.state).toBe("stopped");
    expect(await gw.stopped).toBeNull();
  });
});
