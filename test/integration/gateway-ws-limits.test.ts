import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "nats";
import { connect as netConnect } from "node:net";
import { WebSocket } from "ws";
import { DEFAULT_CONFIG, type GatewaySettings } from "../../src/config/cluster-config.js";
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
import { RawWsClient, WsOpcode, clientFrame, packetBytes, rawHttp, upgradeRequest } from "./gateway-ws-raw-client.js";

const proto = loadProto();
const commandCodec = proto.message<cluster.GatewayCommand>("cluster.GatewayCommand");
const ackCodec = proto.message<cluster.CommandAck>("cluster.CommandAck");

const base: GatewaySettings = { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo", "echo.Hold", "echo.Note"] };
const TEXT_REFUSED = "text messages are not accepted: send each wire.Packet as one binary message";

describe("gateway WebSocket limits: every TCP protection holds (real nats-server)", () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  const gateways: Gateway[] = [];
  const closers: (() => void)[] = [];
  const notes: { sid: string; data: string }[] = [];

  async function start(id: string, overrides: Partial<GatewaySettings>): Promise<Gateway> {
    const gw = await createGateway({
      id,
      port: 0,
      wsPort: 0,
      settings: { ...base, ...overrides },
      nats: { url: nats.url },
      logger: createLogger("gateway", id, process.env.SWITCHYARD_TEST_LOG ?? "silent"),
    });
    gateways.push(gw);
    return gw;
  }

  function url(gw: Gateway): string {
    return `ws://127.0.0.1:${gw.wsAddress()!.port}/ws`;
  }

  async function wsClient(gw: Gateway, localAddress?: string): Promise<RawWsClient> {
    const c = await RawWsClient.connect(url(gw), localAddress ? { localAddress } : {});
    closers.push(() => c.close());
    return c;
  }

  async function tcpClient(gw: Gateway): Promise<RawClient> {
    const c = await RawClient.connect(gw.address().port);
    closers.push(() => c.close());
    return c;
  }

  /** The sid of a session, read from the headers of a NOTIFY it sends (over raw frames). */
  async function sidOfNote(send: (packet: Buffer) => void): Promise<number> {
    const tag = `whoami-${Math.random().toString(36).slice(2)}`;
    send(packetBytes(PacketKind.NOTIFY, 0, "echo.Note", Buffer.from(tag)));
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
        const method = msg.subject.slice("svc.echo.".length);
        if (method === "Note") {
          notes.push({ sid: msg.headers?.get(Header.session) ?? "", data: Buffer.from(msg.data).toString() });
          msg.respond(new Uint8Array(0));
        } else if (method === "Hold") {
          setTimeout(() => msg.respond(msg.data), 200);
        } else msg.respond(msg.data);
      },
    });
    await nc.flush();
  });

  afterAll(async () => {
    for (const close of closers) close();
    await Promise.all(gateways.map((g) => g.stop()));
    await nc?.close();
    await nats?.stop();
  });

  it("answers each request with one binary message holding one packet, and a heartbeat with a heartbeat", async () => {
    const gw = await start("ws-echo", {});
    const c = await wsClient(gw);
    const messages: Buffer[] = [];
    c.ws.on("message", (data: Buffer) => messages.push(data));
    const replies = await Promise.all([1, 2, 3].map((id) => c.request(id, "echo.Echo", Buffer.from(`hi ${id}`))));
    expect(replies.map((r) => [r.kind, r.id, Buffer.from(r.body).toString()])).toEqual([1, 2, 3].map((id) => [PacketKind.RESPONSE, id, `hi ${id}`]));
    expect(messages).toHaveLength(3);
    c.send(PacketKind.HEARTBEAT, 0, "");
    expect((await c.nextKind(PacketKind.HEARTBEAT)).kind).toBe(PacketKind.HEARTBEAT);
    expect(c.texts).toEqual([]);
    expect(c.ws.protocol).toBe("");
    expect(c.ws.extensions).toBe("");
  });

  it("refuses a text message: KICK PROTOCOL as a packet, then close 4010 with the reason", async () => {
    const gw = await start("ws-text", {});
    const c = await wsClient(gw);
    c.ws.send("hello");
    expect(await c.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.PROTOCOL, message: TEXT_REFUSED });
    expect(await c.closed).toEqual({ code: 4010, reason: TEXT_REFUSED });
    expect(gw.sessionCount).toBe(0);
  });

  it("kicks a malformed packet and a kind a client may not send, as on TCP", async () => {
    const gw = await start("ws-malformed", {});
    const bad = await wsClient(gw);
    bad.sendBytes(Buffer.from([0x22, 0x05, 1]));
    expect((await bad.nextKind(PacketKind.KICK)).message).toBe("malformed packet: a frame of 3 bytes does not hold a wire.Packet");
    expect((await bad.closed).code).toBe(4010);
    const push = await wsClient(gw);
    push.send(PacketKind.PUSH, 0, "x.Y");
    expect((await push.nextKind(PacketKind.KICK)).message).toMatch(/kind 4 may not be sent by a client/);
    expect((await push.closed).code).toBe(4010);
  });

  it("takes messages up to maxFrameBytes, also fragmented; a larger one (whole or in fragments) closes 1009", async () => {
    const gw = await start("ws-size", { maxFrameBytes: 1024 });
    const fits = await wsClient(gw);
    const body = Buffer.alloc(1024 - 20, 7);
    const whole = packetBytes(PacketKind.REQUEST, 1, "echo.Echo", body);
    expect(whole.length).toBeLessThanOrEqual(1024);
    fits.sendBytes(whole);
    expect(Buffer.from((await fits.nextKind(PacketKind.RESPONSE)).body)).toEqual(body);
    // the same packet in three fragments
    const fragmented = packetBytes(PacketKind.REQUEST, 2, "echo.Echo", body);
    fits.ws.send(fragmented.subarray(0, 300), { fin: false });
    fits.ws.send(fragmented.subarray(300, 600), { fin: false });
    fits.ws.send(fragmented.subarray(600), { fin: true });
    expect(await fits.request(3, "echo.Echo", Buffer.from("after"))).toMatchObject({ kind: PacketKind.RESPONSE });
    expect((await fits.next((p) => p.id === 2)).kind).toBe(PacketKind.RESPONSE);

    const big = await wsClient(gw);
    big.sendBytes(Buffer.alloc(1025, 1));
    expect((await big.closed).code).toBe(1009);
    const pieces = await wsClient(gw);
    pieces.ws.send(Buffer.alloc(600), { fin: false });
    pieces.ws.send(Buffer.alloc(600), { fin: true });
    expect((await pieces.closed).code).toBe(1009);
    expect(await fits.request(4, "echo.Echo")).toMatchObject({ kind: PacketKind.RESPONSE });
  });

  it("answers RATE_LIMITED past the token bucket and closes (4007) a connection that keeps pushing", async () => {
    const gw = await start("ws-rate", { rateLimit: { perSecond: 1, burst: 3 } });
    const c = await wsClient(gw);
    const replies = await Promise.all([1, 2, 3, 4].map((id) => c.request(id, "echo.Echo", Buffer.from("r"))));
    expect(replies.map((r) => r.kind)).toEqual([PacketKind.RESPONSE, PacketKind.RESPONSE, PacketKind.RESPONSE, PacketKind.ERROR]);
    expect(replies[3]!.code).toBe(ErrorCode.RATE_LIMITED);
    for (let i = 0; i < 20; i++) c.send(PacketKind.REQUEST, 100 + i, "echo.Echo");
    expect(await c.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    expect((await c.closed).code).toBe(4007);
  });

  it("answers RATE_LIMITED past maxInFlightPerSession", async () => {
    const gw = await start("ws-inflight", { maxInFlightPerSession: 2 });
    const c = await wsClient(gw);
    const replies = await Promise.all([1, 2, 3].map((id) => c.request(id, "echo.Hold")));
    expect(replies.map((r) => r.code)).toEqual([0, 0, ErrorCode.RATE_LIMITED]);
    expect((await c.request(4, "echo.Hold")).kind).toBe(PacketKind.RESPONSE);
  });

  it("counts TCP and WebSocket connections together against maxConnections", async () => {
    const gw = await start("ws-full", { maxConnections: 2 });
    const tcp = await tcpClient(gw);
    const ws = await wsClient(gw);
    expect((await tcp.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    expect((await ws.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    const thirdWs = await wsClient(gw);
    expect(await thirdWs.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.UNAVAILABLE, message: "gateway full" });
    expect(await thirdWs.closed).toEqual({ code: 4005, reason: "gateway full" });
    const thirdTcp = await tcpClient(gw);
    expect(await thirdTcp.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.UNAVAILABLE, message: "gateway full" });
    expect(gw.sessionCount).toBe(2);
  });

  it("counts both transports against maxConnectionsPerAddress", async () => {
    const gw = await start("ws-per-address", { maxConnectionsPerAddress: 1 });
    const tcp = await tcpClient(gw);
    expect((await tcp.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    const ws = await wsClient(gw);
    expect((await ws.nextKind(PacketKind.KICK)).code).toBe(ErrorCode.RATE_LIMITED);
    expect((await ws.closed).code).toBe(4007);
    const other = await wsClient(gw, "127.0.0.2");
    expect((await other.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });

  it("kicks (4006) a connection with no complete packet in time, one trickling fragments of a message too, and an idle one", async () => {
    const gw = await start("ws-first", { firstPacketTimeoutMs: 150, idleTimeoutMs: 400 });
    const silent = await wsClient(gw);
    const trickler = await wsClient(gw);
    trickler.ws.send(Buffer.from([8]), { fin: false });
    const drip = setInterval(() => trickler.ws.send(Buffer.from([1]), { fin: false }), 30);
    const alive = await wsClient(gw);
    const beat = setInterval(() => alive.send(PacketKind.HEARTBEAT, 0, ""), 40);
    const idle = await wsClient(gw);
    idle.send(PacketKind.HEARTBEAT, 0, "");
    const [a, b] = await Promise.all([silent.nextKind(PacketKind.KICK, 2_000), trickler.nextKind(PacketKind.KICK, 2_000)]);
    clearInterval(drip);
    for (const k of [a, b]) {
      expect(k.code).toBe(ErrorCode.TIMEOUT);
      expect(k.message).toMatch(/^no complete packet within 150 ms of connecting/);
    }
    expect((await silent.closed).code).toBe(4006);
    const k = await idle.nextKind(PacketKind.KICK, 2_000);
    expect(k.message).toMatch(/^idle/);
    expect((await idle.closed).code).toBe(4006);
    clearInterval(beat);
    expect((await alive.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });

  it("drops a reader whose buffered output passes maxPendingOutputBytes; the others keep working", async () => {
    const gw = await start("ws-slow", { maxPendingOutputBytes: 64 * 1024 });
    const other = await wsClient(gw);
    // a raw upgrade whose socket is never read again
    const raw = await rawHttp(gw.wsAddress()!.port, upgradeRequest("/ws"));
    closers.push(() => raw.socket.destroy());
    expect(raw.status).toBe(101);
    const sid = await sidOfNote((packet) => raw.socket.write(clientFrame(WsOpcode.binary, packet)));
    const push = (sids: number[], body: Buffer): Promise<cluster.CommandAck> =>
      nc.request(gatewayCommandSubject("ws-slow"), commandCodec.encode({ push: { sids, route: "t.Big", body, uid: "" } })).then((m) => ackCodec.decode(m.data));
    let ack: cluster.CommandAck = { ok: true, error: "", resumeCode: 0, replayed: 0, startedAt: 0, missingSids: [] };
    // kernel buffers absorb some output first: push until the gateway gives the session up
    for (let i = 0; i < 100 && ack.missingSids.length === 0; i++) ack = await push(Array(8).fill(sid), Buffer.alloc(16 * 1024, 7));
    // an acknowledged push to several sessions names those no longer there
    expect(ack).toMatchObject({ ok: true, error: "" });
    expect(new Set(ack.missingSids)).toEqual(new Set([sid]));
    expect((await other.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });

  it("answers bad upgrades and other HTTP requests on the WebSocket port, then closes", async () => {
    const gw = await start("ws-http", {});
    const port = gw.wsAddress()!.port;
    const cases: [string | Buffer, number][] = [
      [upgradeRequest("/nope"), 404],
      ["GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 426],
      ["GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404],
      ["POST /gate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405],
      [upgradeRequest("/ws").replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), 400],
      [upgradeRequest("/ws").replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 7"), 400],
      [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]), 400],
      ["\x00\x01garbage\r\n\r\n", 400],
    ];
    for (const [request, status] of cases) {
      const r = await rawHttp(port, request);
      expect(r.status, JSON.stringify(request.toString().slice(0, 40))).toBe(status);
      if (status !== 426 && status !== 405) expect(r.head).toMatch(/connection: close/i);
      r.socket.destroy();
    }
    expect(gw.sessionCount).toBe(0);
    const c = await wsClient(gw);
    expect((await c.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
  });

  it("closes an upgrade request whose headers trickle in past min(firstPacketTimeoutMs, 10 s)", async () => {
    const gw = await start("ws-slow-headers", { firstPacketTimeoutMs: 300 });
    const raw = await new Promise<import("node:net").Socket>((resolve, reject) => {
      const s = netConnect({ port: gw.wsAddress()!.port, host: "127.0.0.1" }, () => resolve(s));
      s.once("error", reject);
    });
    closers.push(() => raw.destroy());
    raw.write("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const drip = setInterval(() => raw.write("X-Slow: 1\r\n"), 50);
    const answer = await new Promise<string>((resolve) => {
      let got = "";
      raw.on("data", (d: Buffer) => (got += d.toString("latin1")));
      raw.on("error", () => undefined);
      raw.once("close", () => resolve(got));
    });
    clearInterval(drip);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(gw.sessionCount).toBe(0);
  });

  it("selects no subprotocol: a client that insists on one fails the handshake", async () => {
    const gw = await start("ws-subprotocol", {});
    const err = await new Promise<Error>((resolve) => {
      const ws = new WebSocket(url(gw), ["switchyard.v1"]);
      ws.once("open", () => resolve(new Error("opened")));
      ws.once("error", resolve);
    });
    expect(err.message).toBe("Server sent no subprotocol");
  });

  it("negotiates permessage-deflate only when gateway.wsPerMessageDeflate is on", async () => {
    const off = await start("ws-deflate-off", {});
    const on = await start("ws-deflate-on", { wsPerMessageDeflate: true });
    const plain = await RawWsClient.connect(url(off), { perMessageDeflate: true });
    const deflated = await RawWsClient.connect(url(on), { perMessageDeflate: true });
    closers.push(() => plain.close(), () => deflated.close());
    expect(plain.ws.extensions).toBe("");
    expect(deflated.ws.extensions).toBe("permessage-deflate");
    const body = Buffer.alloc(4000, 97);
    for (const c of [plain, deflated]) expect(Buffer.from((await c.request(1, "echo.Echo", body)).body)).toEqual(body);
  });
});
