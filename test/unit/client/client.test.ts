import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SwitchyardError, connect, type Client } from "../../../src/client/index.js";
import { FrameDecoder } from "../../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame, type Packet } from "../../../src/protocol/packet.js";
import { loadProto } from "../../../src/proto/registry.js";

/**
 * The SDK's own behaviour (framing, coalescing, timeouts, dead-peer detection) against a TCP
 * peer scripted by each test. Behaviour against the real gateway is in
 * test/integration/client-sdk.test.ts.
 */
interface Peer {
  port: number;
  /** Socket of the (single) client connection, once accepted. */
  socket(): Promise<Socket>;
  /** Packets received so far, and how many TCP chunks carried them. */
  packets: Packet[];
  chunks: number;
  onPacket: (p: Packet, s: Socket) => void;
  close(): Promise<void>;
}

const servers: Server[] = [];
const clients: Client[] = [];

async function peer(): Promise<Peer> {
  const server = createServer();
  servers.push(server);
  let accepted: (s: Socket) => void;
  const first = new Promise<Socket>((r) => (accepted = r));
  const p: Peer = {
    port: 0,
    socket: () => first,
    packets: [],
    chunks: 0,
    onPacket: () => {},
    close: () => new Promise((r) => server.close(() => r())),
  };
  server.on("connection", (s) => {
    const dec = new FrameDecoder(1 << 20, (f) => {
      const pkt = decodePacket(f)!;
      p.packets.push({ ...pkt, body: Buffer.from(pkt.body) });
      p.onPacket(pkt, s);
    }, () => s.destroy());
    s.on("data", (c) => {
      p.chunks++;
      dec.push(c);
    });
    s.on("error", () => {});
    accepted(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  p.port = typeof addr === "object" && addr ? addr.port : 0;
  return p;
}

async function client(port: number, heartbeatMs = 0, requestTimeoutMs = 2_000): Promise<Client> {
  const c = await connect({ port, heartbeatMs, requestTimeoutMs });
  clients.push(c);
  return c;
}

const registry = loadProto();
const echo = registry.route<{ text: string }, { text: string }>("echo.Echo")!;

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) s.close();
});

describe("client against a scripted peer", () => {
  it("round-trips typed requests and coalesces one tick's requests into one write", async () => {
    const p = await peer();
    p.onPacket = (pkt, s) => {
      if (pkt.kind === PacketKind.REQUEST) s.write(encodeFrame(PacketKind.RESPONSE, pkt.id, "", pkt.body));
    };
    const c = await client(p.port);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request("echo.Echo", { text: `m${i}` })));
    expect(replies.map((r) => r.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(p.packets.map((x) => x.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(p.packets.every((x) => x.kind === PacketKind.REQUEST && x.route === "echo.Echo")).toBe(true);
    expect(p.chunks).toBe(1);
    expect(c.pending).toBe(0);
  });

  it("rejects an unknown route locally, naming it; requestRaw sends it anyway", async () => {
    const p = await peer();
    p.onPacket = (pkt, s) => s.write(encodeFrame(PacketKind.RESPONSE, pkt.id, "", Buffer.from("ok")));
    const c = await client(p.port);
    const err = await (c.request as (r: string, m: object) => Promise<unknown>)("nope.Missing", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining('unknown route "nope.Missing"') });
    expect(Buffer.from(await c.requestRaw("nope.Missing", Buffer.from("x"))).toString()).toBe("ok");
    expect(p.packets).toHaveLength(1);
  });

  it("turns ERROR into a SwitchyardError with the code name; ERROR id 0 goes to onError", async () => {
    const p = await peer();
    p.onPacket = (pkt, s) => {
      s.write(encodeFrame(PacketKind.ERROR, 0, "", null, 8, "not tied to a request"));
      s.write(encodeFrame(PacketKind.ERROR, pkt.id, "", null, 5, "module echo is not running"));
    };
    const c = await client(p.port);
    const loose: SwitchyardError[] = [];
    c.onError((e) => loose.push(e));
    await expect(c.request("echo.Echo", { text: "x" })).rejects.toMatchObject({ name: "SwitchyardError", code: "UNAVAILABLE", message: "module echo is not running" });
    expect(loose.map((e) => e.code)).toEqual(["INTERNAL"]);
  });

  it("decodes pushes by the route's type name or an explicit type; onRaw gets bytes", async () => {
    const p = await peer();
    const c = await client(p.port);
    const s = await p.socket();
    const got: unknown[] = [];
    c.on<{ text: string }>("echo.EchoMessage", (m) => got.push(["same-name", m.text]));
    const off = c.on<{ text: string }>("room.Event", "echo.EchoMessage", (m, route) => got.push([route, m.text]));
    c.onRaw("room.Event", (b) => got.push(["raw", b.length]));
    expect(() => c.on("game.Unknown", () => {})).toThrow(/no message type "game.Unknown"/);
    const body = echo.request.encode({ text: "hello" });
    s.write(Buffer.concat([encodeFrame(PacketKind.PUSH, 0, "echo.EchoMessage", body), encodeFrame(PacketKind.PUSH, 0, "room.Event", body)]));
    await expect.poll(() => got.length).toBe(3);
    off();
    s.write(encodeFrame(PacketKind.PUSH, 0, "room.Event", body));
    await expect.poll(() => got.length).toBe(4);
    expect(got).toEqual([["same-name", "hello"], ["room.Event", "hello"], ["raw", body.length], ["raw", body.length]]);
  });

  it("on KICK: calls onKick, rejects pending with UNAVAILABLE, resolves closed with the kick code", async () => {
    const p = await peer();
    const c = await client(p.port);
    const s = await p.socket();
    const kicks: string[] = [];
    const closes: string[] = [];
    c.onKick((code, msg) => kicks.push(`${code} ${msg}`));
    c.onClose((reason) => closes.push(reason));
    const pending = c.request("echo.Sleep", { ms: 1000 }).catch((e: unknown) => e);
    await expect.poll(() => p.packets.length).toBe(1);
    s.write(encodeFrame(PacketKind.KICK, 0, "", null, 2, "logged in elsewhere"));
    s.end();
    expect(await c.closed).toMatchObject({ code: "UNAUTHENTICATED", message: "logged in elsewhere" });
    expect(kicks).toEqual(["UNAUTHENTICATED logged in elsewhere"]);
    expect(closes).toEqual(["kicked by the gateway: UNAUTHENTICATED: logged in elsewhere"]);
    expect(await pending).toMatchObject({ code: "UNAVAILABLE", message: "connection closed: kicked by the gateway: UNAUTHENTICATED: logged in elsewhere" });
    await expect(c.request("echo.Echo", {})).rejects.toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("connection closed: kicked") });
    expect(() => c.notify("echo.Echo", {})).toThrow(SwitchyardError);
  });

  it("rejects pending requests when the gateway drops the connection", async () => {
    const p = await peer();
    const c = await client(p.port);
    const s = await p.socket();
    const pending = c.request("echo.Echo", { text: "x" }).catch((e: unknown) => e);
    await expect.poll(() => p.packets.length).toBe(1);
    s.destroy();
    expect(await pending).toMatchObject({ code: "UNAVAILABLE", message: "connection closed: the gateway closed the connection" });
    expect(await c.closed).toMatchObject({ code: "UNAVAILABLE" });
  });

  it("close() by the client resolves closed with null and rejects pending", async () => {
    const p = await peer();
    const c = await client(p.port);
    const pending = c.request("echo.Echo", {}).catch((e: unknown) => e);
    await c.close();
    expect(await pending).toMatchObject({ code: "UNAVAILABLE", message: "connection closed: closed by the client" });
    expect(await c.closed).toBeNull();
    expect(c.isClosed).toBe(true);
  });

  it("times a request out with TIMEOUT and drops the late reply", async () => {
    const p = await peer();
    const c = await client(p.port, 0, 50);
    await expect(c.request("echo.Echo", {})).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(c.pending).toBe(0);
  });

  it("sends heartbeats and closes when the gateway stays silent for 3 intervals", async () => {
    const p = await peer();
    const c = await client(p.port, 40);
    const started = Date.now();
    const err = await c.closed;
    expect(err).toMatchObject({ code: "UNAVAILABLE", message: expect.stringContaining("no traffic from the gateway") });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(p.packets.filter((x) => x.kind === PacketKind.HEARTBEAT).length).toBeGreaterThanOrEqual(2);
  });

  it("stays open while the gateway answers heartbeats", async () => {
    const p = await peer();
    p.onPacket = (pkt, s) => {
      if (pkt.kind === PacketKind.HEARTBEAT) s.write(encodeFrame(PacketKind.HEARTBEAT, 0, "", null));
    };
    const c = await client(p.port, 20);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.isClosed).toBe(false);
  });

  it("closes with PROTOCOL on a malformed packet", async () => {
    const p = await peer();
    const c = await client(p.port);
    const s = await p.socket();
    s.write(Buffer.from([0, 0, 0, 2, 0xff, 0xff]));
    expect(await c.closed).toMatchObject({ code: "PROTOCOL" });
  });

  it("fails to connect with UNAVAILABLE naming the address and what to do", async () => {
    const p = await peer();
    await p.close();
    await expect(connect({ port: p.port })).rejects.toMatchObject({
      code: "UNAVAILABLE",
      message: `cannot connect to 127.0.0.1:${p.port}: is the cluster running? start it with \`npm start\``,
    });
  });
});
