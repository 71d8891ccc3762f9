import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, SwitchyardError, type Client } from "../../src/client/index.js";
import type { team } from "../../src/generated/proto.js";
import type { Gateway } from "../../src/gateway/index.js";
import loginModule from "../../modules/login/index.js";
import teamModule from "../../modules/team/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { gateNames } from "../helpers/gate.js";
import { nextPush } from "../helpers/pushes.js";

const wsUrl = (gw: Gateway): string => `ws://127.0.0.1:${gw.wsAddress()!.port}/ws`;
const tcpAddress = (gw: Gateway): string => `127.0.0.1:${gw.address().port}`;
const gateUrl = (gw: Gateway): string => `http://127.0.0.1:${gw.wsAddress()!.port}/gate`;

async function logIn(c: Client, username: string): Promise<string> {
  await c.request("login.Register", { username, password: "password-1" });
  return (await c.request("login.Login", { username, password: "password-1" })).uid;
}

describe("the Node SDK over WebSocket, through the gate and redirects (real nats-server, redis-server, login, team)", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 1 },
        { def: teamModule, instances: 1 },
      ],
      gateways: 2,
    });
  });
  afterAll(() => cluster?.stop());

  it("a client over ws:// and a client over TCP chat in the same team", async () => {
    const [gw] = cluster.gateways;
    const ws = await cluster.client(0, { url: wsUrl(gw!) });
    const tcp = await cluster.client(0);
    expect([ws.address, tcp.address]).toEqual([wsUrl(gw!), tcpAddress(gw!)]);
    const wsUid = await logIn(ws, "ann-ws");
    const tcpUid = await logIn(tcp, "bob-tcp");

    const created = await ws.request("team.Create", { name: "both-transports", open: true });
    const joined = await tcp.request("team.Join", { teamId: created.teamId });
    expect(joined.members.map((m) => [m.uid, m.username])).toEqual([
      [wsUid, "ann-ws"],
      [tcpUid, "bob-tcp"],
    ]);

    const onTcp = nextPush<team.ChatMessage>(tcp, "team.ChatMessage", (m) => m.fromUid === wsUid);
    await ws.request("team.Chat", { text: "hello from a WebSocket" });
    expect(await onTcp).toMatchObject({ teamId: created.teamId, fromUsername: "ann-ws", text: "hello from a WebSocket" });

    const onWs = nextPush<team.ChatMessage>(ws, "team.ChatMessage", (m) => m.fromUid === tcpUid);
    await tcp.request("team.Chat", { text: "hello from TCP" });
    expect(await onWs).toMatchObject({ teamId: created.teamId, fromUsername: "bob-tcp", text: "hello from TCP" });
  });

  it("connect({ gate }) connects to the gateway the gate names: its TCP address, or its WebSocket URL with transport ws", async () => {
    const [a] = cluster.gateways;
    // Both gateways are up; the gate of gateway 1 names one of them (the least loaded).
    const res = await fetch(gateUrl(a!));
    expect(res.status).toBe(200);
    const named = (await res.json()) as { id: string };
    const target = cluster.gateways.find((g) => g.id === named.id)!;

    const overTcp = await connect({ gate: gateUrl(a!), heartbeatMs: 0 });
    const overWs = await connect({ gate: gateUrl(a!), transport: "ws", heartbeatMs: 0 });
    try {
      expect([overTcp.address, overWs.address]).toEqual([tcpAddress(target), wsUrl(target)]);
      // Both are working sessions: a public route answers on each.
      await expect(overWs.request("login.Login", { username: "nobody-here", password: "password-1" })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
      await expect(overTcp.request("login.Login", { username: "nobody-here", password: "password-1" })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    } finally {
      await Promise.all([overTcp.close(), overWs.close()]);
    }
  });

  it("a gate that cannot be reached rejects with UNAVAILABLE naming it", async () => {
    const err = await connect({ gate: "http://127.0.0.1:1/gate", heartbeatMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ code: "UNAVAILABLE", message: expect.stringMatching(/^cannot reach the gate at http:\/\/127\.0\.0\.1:1\/gate: /) });
  });
});

describe("a full gateway redirects a new SDK connection, which follows (two gateways, maxConnections 2)", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [{ def: loginModule, instances: 1 }],
      gateways: 2,
      config: { gateway: { ...(await import("../../src/config/cluster-config.js")).DEFAULT_CONFIG.gateway, maxConnections: 2 } },
    });
  });
  afterAll(() => cluster?.stop());

  it("over WebSocket and over TCP; with maxRedirects 0 the KICK closes the client instead", async () => {
    const [full, free] = cluster.gateways as [Gateway, Gateway];
    // Two sessions fill gateway 1; a login makes each a real, counted session.
    for (const name of ["holder-1", "holder-2"]) await logIn(await cluster.client(0), name);
    await gateNames(gateUrl(full), free.id);

    const kicks: string[] = [];
    const ws = await connect({ url: wsUrl(full), heartbeatMs: 0 });
    ws.onKick((code, message, redirect) => kicks.push(`${code} ${message} ${redirect}`));
    // The redirect happens after connect() resolved: the first reply proves the new gateway serves it.
    expect(await logIn(ws, "moved-ws")).toMatch(/.+/);
    expect(ws.address).toBe(wsUrl(free));
    expect(kicks).toEqual([]);

    const tcp = await connect({ port: full.address().port, heartbeatMs: 0 });
    await logIn(tcp, "moved-tcp");
    expect(tcp.address).toBe(tcpAddress(free));

    const stays = await connect({ url: wsUrl(full), heartbeatMs: 0, maxRedirects: 0 });
    stays.onKick((code, message, redirect) => kicks.push(`${code} ${message} ${redirect}`));
    const closedWith = await stays.closed;
    expect(closedWith).toMatchObject({ code: "UNAVAILABLE", message: "gateway full" });
    expect(kicks).toEqual([`UNAVAILABLE gateway full ${wsUrl(free)}`]);
    await Promise.all([ws.close(), tcp.close()]);
  });
});
