import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { connect, type Client } from "../../../src/client/index.js";
import type { echo } from "../../../src/generated/proto.js";
import { PacketKind, decodePacket, encodePacket, type Packet } from "../../../src/protocol/packet.js";
import { loadProto } from "../../../src/proto/registry.js";

/** How the client core follows a KICK redirect, against two scripted WebSocket gateways. */
const codec = loadProto().route<echo.EchoMessage, echo.EchoMessage>("echo.Echo")!;
const servers: WebSocketServer[] = [];
const clients: Client[] = [];

interface Gateway {
  url: string;
  /** Texts of the echo.Echo requests received, in order. */
  texts: string[];
}

async function gateway(onRequest: (p: Packet, ws: WebSocket, g: Gateway) => void): Promise<Gateway> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  servers.push(server);
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const g: Gateway = { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, texts: [] };
  server.on("connection", (ws) =>
    ws.on("message", (data: Buffer) => {
      const p = decodePacket(new Uint8Array(data))!;
      if (p.kind !== PacketKind.REQUEST) return;
      g.texts.push(codec.request.decode(p.body).text);
      onRequest(p, ws, g);
    }),
  );
  return g;
}

const answer = (name: string) => (p: Packet, ws: WebSocket) =>
  ws.send(encodePacket(PacketKind.RESPONSE, p.id, "", codec.response.encode({ text: `${name}: ${codec.request.decode(p.body).text}` })));

function redirectTo(target: Gateway): (p: Packet, ws: WebSocket) => void {
  return (_p, ws) => {
    ws.send(encodePacket(PacketKind.KICK, 0, "", null, 5, "gateway full", target.url));
    ws.close(4005, "gateway full");
  };
}

async function client(url: string, reconnect: false | { minDelayMs: number } = false): Promise<Client> {
  const c = await connect({ url, heartbeatMs: 0, reconnect });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe("following a KICK redirect", () => {
  it("before any reply: the requests sent so far are sent again on the new gateway, in order, and answered there", async () => {
    const b = await gateway(answer("b"));
    let kicked = false;
    const a = await gateway((p, ws) => {
      if (!kicked) redirectTo(b)(p, ws);
      kicked = true;
    });
    const c = await client(a.url);
    const replies = await Promise.all([c.request("echo.Echo", { text: "one" }), c.request("echo.Echo", { text: "two" })]);
    expect(replies.map((r) => r.text)).toEqual(["b: one", "b: two"]);
    expect(b.texts).toEqual(["one", "two"]);
    expect(c.address).toBe(b.url);
    // later requests go to b only
    expect((await c.request("echo.Echo", { text: "three" })).text).toBe("b: three");
    expect(a.texts.includes("three")).toBe(false);
  });

  it("after a reply, with reconnect on: the client moves to the KICK's redirect and sends what follows there", async () => {
    const b = await gateway(answer("b"));
    const a = await gateway((p, ws, g) => (g.texts.length === 1 ? answer("a")(p, ws) : redirectTo(b)(p, ws)));
    const c = await client(a.url, { minDelayMs: 10 });
    const moved = new Promise((resolve) => c.onReconnect(resolve));
    expect((await c.request("echo.Echo", { text: "one" })).text).toBe("a: one");
    // sent to a, which kicks: its outcome is unknown to the client
    await expect(c.request("echo.Echo", { text: "two" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(await moved).toMatchObject({ attempts: 1, resumed: false, address: b.url });
    expect((await c.request("echo.Echo", { text: "three" })).text).toBe("b: three");
  });

  it("after a reply, with reconnect off: the KICK closes the client (its redirect goes to onKick) and nothing is sent to the other gateway", async () => {
    const b = await gateway(answer("b"));
    const a = await gateway((p, ws, g) => (g.texts.length === 1 ? answer("a")(p, ws) : redirectTo(b)(p, ws)));
    const c = await client(a.url);
    const kicks: string[] = [];
    c.onKick((code, message, redirect) => kicks.push(`${code} ${message} ${redirect}`));
    expect((await c.request("echo.Echo", { text: "one" })).text).toBe("a: one");
    await expect(c.request("echo.Echo", { text: "two" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(await c.closed).toMatchObject({ code: "UNAVAILABLE", message: "gateway full" });
    expect(kicks).toEqual([`UNAVAILABLE gateway full ${b.url}`]);
    expect(b.texts).toEqual([]);
  });

  it("stops after maxRedirects hops (default 3): a loop of redirects ends with the KICK", async () => {
    const hops: Gateway[] = [];
    for (let i = 0; i < 5; i++) hops.push(await gateway((p, ws) => redirectTo(hops[(i + 1) % hops.length]!)(p, ws)));
    const c = await client(hops[0]!.url);
    await expect(c.request("echo.Echo", { text: "x" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(await c.closed).toMatchObject({ code: "UNAVAILABLE", message: "gateway full" });
    expect(hops.map((h) => h.texts.length)).toEqual([1, 1, 1, 1, 0]);
  });
});
