import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { echo, login, team } from "../../src/generated/proto.js";
import { ErrorCode } from "../../src/bus/errors.js";
import { loadProto } from "../../src/proto/registry.js";
import { PacketKind, type Packet } from "../../src/protocol/packet.js";
import { startCluster, type TestCluster } from "../../src/testing/index.js";
import echoModule from "../../modules/echo/index.js";
import loginModule from "../../modules/login/index.js";
import teamModule from "../../modules/team/index.js";
import { RawWsClient } from "./gateway-ws-raw-client.js";

const proto = loadProto();
const codec = {
  register: proto.message<login.RegisterRequest>("login.RegisterRequest"),
  login: proto.message<login.LoginRequest>("login.LoginRequest"),
  loginReply: proto.message<login.LoginReply>("login.LoginReply"),
  identity: proto.message<echo.Identity>("echo.Identity"),
  sleep: proto.message<echo.SleepRequest>("echo.SleepRequest"),
  echo: proto.message<echo.EchoMessage>("echo.EchoMessage"),
  create: proto.message<team.CreateRequest>("team.CreateRequest"),
  teamInfo: proto.message<team.TeamInfo>("team.TeamInfo"),
  chat: proto.message<team.ChatRequest>("team.ChatRequest"),
  chatMessage: proto.message<team.ChatMessage>("team.ChatMessage"),
};

function ok(p: Packet): Uint8Array {
  expect(p, `${p.kind === PacketKind.ERROR ? `ERROR ${p.code}: ${p.message}` : ""}`).toMatchObject({ kind: PacketKind.RESPONSE });
  return p.body;
}

describe("WebSocket sessions are gateway sessions (real nats-server, redis-server, login, team, echo)", () => {
  let cluster: TestCluster;
  let wsUrl: string;

  beforeAll(async () => {
    cluster = await startCluster({
      modules: [
        { module: loginModule, instances: 1 },
        { module: teamModule, instances: 1 },
        // the kit's echo is unordered by default; this test checks the ordered path
        { module: echoModule, instances: 1, ordered: true },
      ],
    });
    wsUrl = `ws://127.0.0.1:${cluster.config.gateways[0]!.wsPort}/ws`;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("logs in, keeps per-session order, chats in a team with a TCP session, and is kicked by a login elsewhere", async () => {
    const ws = await RawWsClient.connect(wsUrl);
    ok(await ws.request(1, "login.Register", codec.register.encode({ username: "wsplayer", password: "password-1" })));
    const loginReply = codec.loginReply.decode(ok(await ws.request(2, "login.Login", codec.login.encode({ username: "wsplayer", password: "password-1" }))));
    const me = codec.identity.decode(ok(await ws.request(3, "echo.WhoAmI")));
    expect(me).toMatchObject({ uid: loginReply.uid, gatewayId: cluster.gateways[0]!.id });

    // one module, one session: the second request waits for the first, as on TCP
    const order: number[] = [];
    const slow = ws.request(10, "echo.Sleep", codec.sleep.encode({ ms: 150 })).then((p) => order.push(p.id));
    const fast = ws.request(11, "echo.Echo", codec.echo.encode({ text: "after" })).then((p) => order.push(p.id));
    await Promise.all([slow, fast]);
    expect(order).toEqual([10, 11]);

    ws.send(PacketKind.HEARTBEAT, 0, "");
    await ws.nextKind(PacketKind.HEARTBEAT);

    const teamInfo = codec.teamInfo.decode(ok(await ws.request(20, "team.Create", codec.create.encode({ name: "mixed", open: true, capacity: 0 }))));
    const { client: tcp } = await cluster.loggedInClient("tcpplayer");
    await tcp.request("team.Join", { teamId: teamInfo.teamId });
    const heardOnTcp = new Promise<team.ChatMessage>((resolve) => tcp.on<team.ChatMessage>("team.ChatMessage", (m) => m.text === "from ws" && resolve(m)));
    ok(await ws.request(21, "team.Chat", codec.chat.encode({ text: "from ws" })));
    expect((await heardOnTcp).fromUid).toBe(loginReply.uid);
    await tcp.request("team.Chat", { text: "from tcp" });
    const push = await ws.next((p) => p.kind === PacketKind.PUSH && p.route === "team.ChatMessage" && codec.chatMessage.decode(p.body).text === "from tcp");
    expect(codec.chatMessage.decode(push.body).fromUsername).toBe("tcpplayer");

    const other = await cluster.client();
    await other.request("login.Login", { username: "wsplayer", password: "password-1" });
    const kick = await ws.nextKind(PacketKind.KICK);
    expect(kick).toMatchObject({ code: ErrorCode.FORBIDDEN, message: "logged in from another connection" });
    expect(await ws.closed).toEqual({ code: 4000 + ErrorCode.FORBIDDEN, reason: "logged in from another connection" });
  });
});
