import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, headers as natsHeaders, type NatsConnection } from "nats";
import { DEFAULT_CONFIG, type GatewaySettings } from "../../src/config/cluster-config.js";
import { listInstances } from "../../src/bus/discovery.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { Header } from "../../src/bus/headers.js";
import { gatewayCommandSubject } from "../../src/bus/subjects.js";
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

const base: GatewaySettings = { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo", "echo.Hold", "echo.Note", "echo.Refuse", "ghost.Note"] };

describe("gateway limits (real nats-server)", () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  const gateways: Gateway[] = [];
  const clients: RawClient[] = [];
  const notes: { sid: string; uid: string | null; address: string; data: string }[] = [];
  /** What the fake echo module saw and did, in order: "<method>-in:<data>" / "<method>-out:<data>". */
  const events: string[] = [];

  async function start(id: string, overrides: Partial<GatewaySettings>): Promise<Gateway> {
    const gw = await createGateway({
      id,
      port: 0,
      settings: { ...base, ...overrides },
      nats: { url: nats.url },
      logger: createLogger("gateway", id, process.env.SWITCHYARD_TEST_LOG ?? "silent"),
    });
    gateways.push(gw);
    return gw;
  }

  async function client(gw: Gateway): Promise<RawClient> {
    const c = await RawClient.connect(gw.address().port);
    clients.push(c);
    return c;
  }

  /** The sid the gateway gave a client, read from the headers of a NOTIFY it sends. */
  async function sidOf(c: RawClient): Promise<number> {
    const tag = `whoami-${Math.random().toString(36).slice(2)}`;
    c.send(PacketKind.NOTIFY, 0, "echo.Note", Buffer.from(tag));
    for (let i = 0; i < 200; i++) {
      const seen = notes.find((n) => n.data === tag);
      if (seen) return Number(seen.sid);
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error("the gateway did not forward the NOTIFY");
  }

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    nc.subscribe("svc.echo.*", {
      queue: "echo",
      callback: (_e, msg) => {
        const data = Buffer.from(msg.data).toString();
        const method = msg.subject.slice("svc.echo.".length);
        events.push(`${method}-in:${data}`);
        if (method === "Note") {
          const h = msg.headers;
          notes.push({ sid: h?.get(Header.session) ?? "", uid: h?.has(Header.uid) ? h.get(Header.uid) : null, address: h?.get(Header.address) ?? "", data });
          // a module host answers a message that carries a reply subject, a NOTIFY too
          msg.respond(new Uint8Array(0));
        } else if (method === "Hold") {
          setTimeout(() => {
            events.push(`Hold-out:${data}`);
            msg.respond(msg.data);
          }, 200);
        } else if (method === "Refuse") {
          const h = natsHeaders();
          h.set(Header.errorCode, String(ErrorCode.RATE_LIMITED));
          h.set(Header.errorMessage, "refused by the module: slow down");
          msg.respond(new Uint8Array(0), { headers: h });
        } else msg.respond(msg.data);
      },
    });
    await nc.flush();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(gateways.map((g) => g.stop()));
    await nc?.close();
    await nats?.stop();
  });

  it("forwards a NOTIFY with the session headers (the client address too) and sends nothing back on success", async () => {
    const gw = await start("gw-notify", {});
    const c = await client(gw);
    c.send(PacketKind.NOTIFY, 0, "echo.Note", Buffer.from("fire"));
    // a request sent after the notify is answered after it (same module, same session: in order)
    expect((await c.request(1, "echo.Echo", Buffer.from("after"))).kind).toBe(PacketKind.RESPONSE);
    expect(notes.find((n) => n.data === "fire")).toMatchObject({ uid: null, address: "127.0.0.1" });
    expect(c.packets).toEqual([]);
    c.send(PacketKind.NOTIFY, 0, "echo.Private", Buffer.from("x"));
    expect(await c.nextKind(PacketKind.ERROR)).toMatchObject({ id: 0, code: ErrorCode.UNAUTHENTICATED });
  });

  it("answers a NOTIFY the module refuses, or no module takes, with ERROR id 0 and the module's code and message", async () => {
    const gw = await start("gw-notify-refused", {});
    const c = await client(gw);
    c.send(PacketKind.NOTIFY, 0, "echo.Refuse", Buffer.from("x"));
    expect(await c.nextKind(PacketKind.ERROR)).toMatchObject({ id: 0, code: ErrorCode.RATE_LIMITED, message: "refused by the module: slow down" });
    c.send(PacketKind.NOTIFY, 0, "ghost.Note", Buffer.from("x"));
    const e = await c.nextKind(PacketKind.ERROR);
    expect(e).toMatchObject({ id: 0, code: ErrorCode.UNAVAILABLE });
    expect(e.message).toMatch(/module "ghost" is not running/);
  });

  it("counts a NOTIFY against maxInFlightPerSession and keeps it in order with the session's requests", async () => {
    const gw = await start("gw-notify-bounded", { maxInFlightPerSession: 2 });
    const c = await client(gw);
    c.send(PacketKind.NOTIFY, 0, "echo.Hold", Buffer.from("n1"));
    const r1 = c.request(1, "echo.Echo", Buffer.from("r1"));
    // the notify and the request queued behind it fill the 2 slots: a third message is refused
    c.send(PacketKind.NOTIFY, 0, "echo.Hold", Buffer.from("n2"));
    expect(await c.nextKind(PacketKind.ERROR)).toMatchObject({ id: 0, code: ErrorCode.RATE_LIMITED });
    expect((await r1).kind).toBe(PacketKind.RESPONSE);
    // the request went out only once the notify before it was answered
    expect(events.filter((e) => /:(n\d|r\d)$/.test(e))).toEqual(["Hold-in:n1", "Hold-out:n1", "Echo-in:r1"]);
    expect(c.packets.filter((p) => p.kind === PacketKind.RESPONSE && p.id === 0)).toEqual([]);
  });

  it("answers a NOTIFY over the token bucket with ERROR id 0 RATE_LIMITED", async () => {
    const gw = await start("gw-notify-rate", { rateLimit: { perSecond: 1, burst: 1 } });
    const c = await client(gw);
    c.send(PacketKind.NOTIFY, 0, "echo.Note", Buffer.from("ok"));
    c.send(PacketKind.NOTIFY, 0, "echo.Note", Buffer.from("over"));
    expect(await c.nextKind(PacketKind.ERROR)).toMatchObject({ id: 0, code: ErrorCode.RATE_LIMITED });
  });

  it("is listed by listInstances (ctl status) with its sessions", async () => {
    const gw = await start("gw-listed", {});
    await client(gw);
    const all = await listInstances(nc, 500);
    const me = all.find((x) => x.instance === "gw-listed");
    expect(me).toMatchObject({ kind: "gateway", module: "gateway", state: "ready", sessions: 1 });
  });

  it("answers RATE_LIMITED past the token bucket and closes a connection that keeps pushing", async () => {
    const gw = await start("gw-rate", { rateLimit: { perSecond: 1, burst: 3 } });
    const c = await client(gw);
    const replies = await Promise.all([1, 2, 3, 4].map((id) => c.request(id, "echo.Echo", Buffer.from("r"))));
    expect(replies.map((r) => r.kind)).toEqual([PacketKind.RESPONSE, PacketKind.RESPONSE, PacketKind.RESPONSE, PacketKind.ERROR]);
    expect(replies[3]!.code).toBe(ErrorCode.RATE_LIMITED);
    for (let i = 0; i < 20; i++) c.send(PacketKind.REQUEST, 100 + i, "echo.Echo");
    expect(await c.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    await c.closed;
  });

  it("answers RATE_LIMITED past maxInFlightPerSession", async () => {
    const gw = await start("gw-inflight", { maxInFlightPerSession: 2 });
    const c = await client(gw);
    const replies = await Promise.all([1, 2, 3].map((id) => c.request(id, "echo.Hold")));
    expect(replies.map((r) => r.code)).toEqual([0, 0, ErrorCode.RATE_LIMITED]);
    expect((await c.request(4, "echo.Hold")).kind).toBe(PacketKind.RESPONSE);
  });

  it("refuses connections past maxConnections with KICK UNAVAILABLE gateway full", async () => {
    const gw = await start("gw-full", { maxConnections: 1 });
    const first = await client(gw);
    expect((await first.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    const second = await client(gw);
    expect(await second.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.UNAVAILABLE, message: "gateway full" });
    await second.closed;
    expect(gw.sessionCount).toBe(1);
  });

  it("refuses connections past maxConnectionsPerAddress with KICK RATE_LIMITED; other addresses still connect", async () => {
    const gw = await start("gw-per-address", { maxConnectionsPerAddress: 2 });
    const a1 = await client(gw);
    const a2 = await client(gw);
    expect((await a1.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    expect((await a2.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    const a3 = await client(gw);
    const kick = await a3.nextKind(PacketKind.KICK);
    expect(kick.code).toBe(ErrorCode.RATE_LIMITED);
    expect(kick.message).toBe("too many connections from your address (limit 2 per gateway): close some before opening more");
    await a3.closed;
    const other = await RawClient.connect(gw.address().port, "127.0.0.2");
    clients.push(other);
    expect((await other.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    // a closed connection frees its place
    a1.close();
    for (let i = 0; i < 200 && gw.sessionCount > 2; i++) await new Promise((r) => setTimeout(r, 10));
    const a4 = await client(gw);
    expect((await a4.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });

  it("closes idle sessions with KICK idle, and keeps those that send heartbeats", async () => {
    const gw = await start("gw-idle", { idleTimeoutMs: 150 });
    const idle = await client(gw);
    const alive = await client(gw);
    const beat = setInterval(() => alive.send(PacketKind.HEARTBEAT, 0, ""), 40);
    const k = await idle.nextKind(PacketKind.KICK, 2_000);
    clearInterval(beat);
    expect(k.message).toMatch(/^idle/);
    await idle.closed;
    expect((await alive.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });

  it("closes a connection that sends no complete packet in time (also one trickling a partial frame)", async () => {
    const gw = await start("gw-first", { firstPacketTimeoutMs: 150, idleTimeoutMs: 60_000 });
    const silent = await client(gw);
    const trickler = await client(gw);
    const greeted = await client(gw);
    greeted.send(PacketKind.HEARTBEAT, 0, "");
    await greeted.nextKind(PacketKind.HEARTBEAT);
    // a length prefix announcing 200 bytes, then one byte now and then: no whole frame in time
    trickler.socket.write(Buffer.from([0, 0, 0, 200]));
    const drip = setInterval(() => trickler.socket.write(Buffer.from([8])), 30);
    const [a, b] = await Promise.all([silent.nextKind(PacketKind.KICK, 2_000), trickler.nextKind(PacketKind.KICK, 2_000)]);
    clearInterval(drip);
    for (const k of [a, b]) {
      expect(k.code).toBe(ErrorCode.TIMEOUT);
      expect(k.message).toMatch(/^no complete packet within 150 ms of connecting/);
    }
    expect((await greeted.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });

  it("closes a reader whose pending output passes maxPendingOutputBytes", async () => {
    const gw = await start("gw-slow", { maxPendingOutputBytes: 64 * 1024 });
    const c = await client(gw);
    const other = await client(gw);
    const sid = await sidOf(c);
    const push = (sids: number[], body: Buffer): Promise<cluster.CommandAck> =>
      nc.request(gatewayCommandSubject("gw-slow"), commandCodec.encode({ push: { sids, route: "t.Big", body, uid: "" } })).then((m) => ackCodec.decode(m.data));
    expect(await push([sid], Buffer.from("x"))).toMatchObject({ ok: true });
    await c.nextKind(PacketKind.PUSH);
    // 8 × 16 KiB queued for one sid in one tick: past the 64 KiB limit, the session is closed mid-push
    const ack = await push(Array(8).fill(sid), Buffer.alloc(16 * 1024, 7));
    // an acknowledged push to several sessions names those no longer there
    expect(ack).toMatchObject({ ok: true, error: "", resumeCode: 0, replayed: 0 });
    expect(new Set(ack.missingSids)).toEqual(new Set([sid]));
    await c.closed;
    expect((await other.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });
});
