import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { SwitchyardError } from "../../../src/protocol/errors.js";
import { connect, type Client } from "../../../src/client/index.js";
import { PacketKind, decodePacket, encodePacket, type Packet } from "../../../src/protocol/packet.js";
import type { echo as echoTypes } from "../../../src/generated/proto.js";
import { loadProto } from "../../../src/proto/registry.js";

/**
 * The SDK's WebSocket transport against a WebSocket peer scripted by each test (the real
 * gateway is in test/integration/client-sdk-websocket.test.ts).
 */
interface Peer {
  url: string;
  socket: Promise<WebSocket>;
  received: Packet[];
}

const servers: WebSocketServer[] = [];
const clients: Client[] = [];
const echo = loadProto().route<echoTypes.EchoMessage, echoTypes.EchoMessage>("echo.Echo")!;

async function peer(onPacket: (p: Packet, ws: WebSocket) => void = () => undefined): Promise<Peer> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/ws" });
  servers.push(server);
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const received: Packet[] = [];
  const socket = new Promise<WebSocket>((resolve) =>
    server.once("connection", (ws) => {
      ws.on("message", (data: Buffer, isBinary) => {
        const p = decodePacket(new Uint8Array(data));
        if (!isBinary || p === null) throw new Error("the client sent something that is not one binary wire.Packet");
        received.push({ ...p, body: p.body.slice() });
        onPacket(p, ws);
      });
      resolve(ws);
    }),
  );
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, socket, received };
}

async function client(url: string): Promise<Client> {
  const c = await connect({ url, heartbeatMs: 0 });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe("the WebSocket transport", () => {
  it("sends each packet as one binary message without a length prefix and resolves the reply", async () => {
    const p = await peer((req, ws) => ws.send(encodePacket(PacketKind.RESPONSE, req.id, "", echo.response.encode({ text: "pong" }))));
    const c = await client(p.url);
    const reply = await c.request("echo.Echo", { text: "ping" });
    expect(reply.text).toBe("pong");
    expect(p.received.map((x) => [x.kind, x.route, echo.request.decode(x.body).text])).toEqual([[PacketKind.REQUEST, "echo.Echo", "ping"]]);
    expect(c.address).toBe(p.url);
  });

  it("a text message from the gateway closes the client with PROTOCOL", async () => {
    const p = await peer();
    const c = await client(p.url);
    (await p.socket).send("hello");
    const err = await c.closed;
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ code: "PROTOCOL", message: "connection closed: the gateway sent a text message; every message must be one binary wire.Packet" });
  });

  it("a malformed packet closes the client with PROTOCOL", async () => {
    const p = await peer();
    const c = await client(p.url);
    (await p.socket).send(Uint8Array.of(0x0a, 0x05, 0x01));
    expect(await c.closed).toMatchObject({ code: "PROTOCOL", message: "connection closed: the gateway sent a malformed packet (not a wire.Packet)" });
  });

  it("a KICK then a close frame: onKick gets the code and message, pending requests reject UNAVAILABLE", async () => {
    const p = await peer((_req, ws) => {
      ws.send(encodePacket(PacketKind.KICK, 0, "", null, 3, "kicked by an operator"));
      ws.close(4003, "kicked by an operator");
    });
    const c = await client(p.url);
    const kicks: string[] = [];
    c.onKick((code, message, redirect) => kicks.push(`${code}|${message}|${redirect}`));
    await expect(c.request("echo.Echo", { text: "x" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(await c.closed).toMatchObject({ code: "FORBIDDEN", message: "kicked by an operator" });
    expect(kicks).toEqual(["FORBIDDEN|kicked by an operator|"]);
  });

  it("a close frame without a KICK closes the client with UNAVAILABLE naming the close code", async () => {
    const p = await peer();
    const c = await client(p.url);
    (await p.socket).close(4005, "gateway full");
    expect(await c.closed).toMatchObject({ code: "UNAVAILABLE", message: "connection closed: the gateway closed the connection (close code 4005: gateway full)" });
  });

  it("close() sends a normal close frame (1000)", async () => {
    const p = await peer();
    const c = await client(p.url);
    const ws = await p.socket;
    const closeCode = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    await c.close();
    expect(await closeCode).toBe(1000);
    expect(await c.closed).toBeNull();
  });

  it("nothing listening: connect rejects UNAVAILABLE naming the URL", async () => {
    const err = await connect({ url: "ws://127.0.0.1:1/ws", heartbeatMs: 0 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "UNAVAILABLE", message: expect.stringMatching(/^cannot connect to ws:\/\/127\.0\.0\.1:1\/ws: .*ECONNREFUSED/) });
  });

  it("refuses a URL that is not ws:// or wss://, and more than one way to connect", async () => {
    await expect(connect({ url: "http://127.0.0.1:3251/ws" })).rejects.toThrow('url must start with ws:// or wss://, got "http://127.0.0.1:3251/ws" (for TCP pass host and port)');
    await expect(connect({ url: "ws://127.0.0.1:3251/ws", port: 3250 })).rejects.toThrow("pass one of url, gate, or host/port");
    await expect(connect({ url: "ws://127.0.0.1:3251/ws", host: "127.0.0.1" })).rejects.toThrow("pass one of url, gate, or host/port");
    await expect(connect({ url: "ws://127.0.0.1:3251/ws", transport: "ws" })).rejects.toThrow("transport chooses among the gate's addresses: pass it with gate");
  });
});
