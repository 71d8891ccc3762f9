import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client, ReconnectInfo } from "../../src/client/index.js";
import type { team } from "../../src/generated/proto.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { DropProxy } from "../helpers/drop-proxy.js";
import { failure } from "../helpers/failure.js";
import { until } from "../helpers/ops.js";
import loginModule from "../../modules/login/index.js";
import teamModule from "../../modules/team/index.js";

/** Pushes an away uid may have kept in this cluster: small, so the resync case is cheap. */
const MAX_PUSHES = 40;
const RECONNECT = { minDelayMs: 50, maxDelayMs: 200, maxAttempts: 200, windowMs: 20_000 };

describe("reconnect and gap-free resume (2 gateways, login and team)", () => {
  let cluster: TestCluster;
  let n = 0;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 1 },
        { def: teamModule, instances: 1 },
      ],
      gateways: 2,
      config: { gateway: { ...DEFAULT_CONFIG.gateway, resume: { windowMs: 20_000, maxPushes: MAX_PUSHES, maxBytes: 1 << 20, recentPushes: 64 } }, modules: { login: { instances: 1, settings: { scryptN: 1024 } } } },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** A reconnecting SDK client logged in through a proxy to gateway 0, in a team with a chatty member on gateway 1. */
  async function scene(transport: "tcp" | "ws" = "tcp"): Promise<{ player: Client; token: string; proxy: DropProxy; talker: Client; texts: string[]; reconnects: ReconnectInfo[] }> {
    const gw = cluster.gateways[0]!;
    const proxy = await DropProxy.start(transport === "tcp" ? gw.address() : gw.wsAddress()!);
    const where = transport === "tcp" ? { host: "127.0.0.1", port: proxy.port } : { url: `ws://127.0.0.1:${proxy.port}/ws` };
    const player = await cluster.client(0, { ...where, reconnect: RECONNECT });
    const name = `res${++n}`;
    await player.request("login.Register", { username: name, password: "password-1" });
    const { token } = await player.request("login.Login", { username: name, password: "password-1" });
    const { client: talker } = await cluster.loggedInClient(`talk${n}`, 1);
    const t = await player.request("team.Create", { name: `${name} team`, open: true, capacity: 5 });
    await talker.request("team.Join", { teamId: t.teamId });
    const texts: string[] = [];
    player.on<team.ChatMessage>("team.ChatMessage", (m) => texts.push(m.text));
    const reconnects: ReconnectInfo[] = [];
    player.onReconnect((info) => reconnects.push(info));
    return { player, token, proxy, talker, texts, reconnects };
  }

  const chat = async (c: Client, from: number, to: number): Promise<void> => {
    for (let i = from; i <= to; i++) await c.request("team.Chat", { text: `m${i}` });
  };
  const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

  it("a dropped client reconnects through the other gateway and gets exactly the missed pushes, in order, then new ones, without team.Info", async () => {
    const { player, proxy, talker, texts, reconnects } = await scene();
    const disconnects: string[] = [];
    player.onDisconnect((reason) => disconnects.push(reason));
    await chat(talker, 1, 10);
    await until("the first 10 pushes", 3_000, async () => (texts.length === 10) || undefined);
    proxy.refusing = true;
    proxy.drop();
    await until("the drop noticed", 3_000, async () => (disconnects.length === 1) || undefined);
    await chat(talker, 11, 25);
    proxy.upstream = cluster.gateways[1]!.address();
    proxy.refusing = false;
    await until("the reconnect", 10_000, async () => (reconnects.length === 1) || undefined);
    expect(reconnects[0]).toMatchObject({ resumed: true, resync: false, replayed: 15 });
    expect(texts).toEqual(range(1, 25));
    await chat(talker, 26, 30);
    await until("the new pushes", 3_000, async () => (texts.length === 30) || undefined);
    expect(texts).toEqual(range(1, 30));
    // seq 1 was the team.Event of the talker joining; the 30 chats are seqs 2..31
    expect(player.lastSeq).toBe(31);
    console.log(`resume: ${reconnects[0]!.attempts} attempts, ${reconnects[0]!.downtimeMs} ms down (refusing included)`);
    await proxy.stop();
  });

  it("a resume elsewhere while the old connection still looks alive (half-open) takes it over with what it missed", async () => {
    const { player, token, proxy, talker, texts } = await scene();
    await chat(talker, 1, 5);
    await until("the first pushes", 3_000, async () => (texts.length === 5) || undefined);
    proxy.frozen = true;
    await chat(talker, 6, 8);
    const lastSeq = player.lastSeq;
    const fresh = await cluster.client(1);
    const seen: string[] = [];
    fresh.on<team.ChatMessage>("team.ChatMessage", (m) => seen.push(m.text));
    const r = await fresh.request("login.Resume", { token, resumePushes: true, lastSeq });
    expect({ code: r.resumeCode, replayed: r.replayed }).toEqual({ code: 0, replayed: 3 });
    expect(seen).toEqual(range(6, 8));
    await chat(talker, 9, 9);
    await until("the next push", 3_000, async () => (seen.length === 4) || undefined);
    expect(seen).toEqual(range(6, 9));
    expect(texts).toEqual(range(1, 5));
    await proxy.stop();
  });

  it("over WebSocket: a dropped connection resumes on the other gateway with exactly the missed pushes", async () => {
    const { player, proxy, talker, texts, reconnects } = await scene("ws");
    const dropped = new Promise((resolve) => player.onDisconnect(resolve));
    await chat(talker, 1, 4);
    await until("the first pushes", 3_000, async () => (texts.length === 4) || undefined);
    proxy.refusing = true;
    proxy.drop();
    await dropped;
    await chat(talker, 5, 9);
    proxy.upstream = cluster.gateways[1]!.wsAddress()!;
    proxy.refusing = false;
    await until("the reconnect", 10_000, async () => (reconnects.length === 1) || undefined);
    expect(reconnects[0]).toMatchObject({ resumed: true, resync: false, replayed: 5 });
    expect(texts).toEqual(range(1, 9));
    await proxy.stop();
  });

  it("requests issued while reconnecting wait and succeed, or fail UNAVAILABLE after their bound", async () => {
    const { player, proxy, reconnects } = await scene();
    const dropped = new Promise((resolve) => player.onDisconnect(resolve));
    proxy.refusing = true;
    proxy.drop();
    await dropped;
    const waiting = player.request("team.Info", { teamId: "" });
    const bounded = failure(player.request("team.Info", { teamId: "" }, { timeoutMs: 300 }));
    const refused = await bounded;
    expect(refused.code).toBe("UNAVAILABLE");
    expect(refused.message).toContain("not sent: still reconnecting after 300 ms");
    proxy.refusing = false;
    const info = await waiting;
    expect(info.members).toHaveLength(2);
    expect(reconnects).toHaveLength(1);
    await proxy.stop();
  });

  it("past the bound the resume answers RESYNC, and the channel keeps delivering", async () => {
    const { player, proxy, talker, texts, reconnects } = await scene();
    await chat(talker, 1, 2);
    await until("the first pushes", 3_000, async () => (texts.length === 2) || undefined);
    proxy.refusing = true;
    proxy.drop();
    await chat(talker, 3, 3 + MAX_PUSHES);
    proxy.refusing = false;
    await until("the reconnect", 10_000, async () => (reconnects.length === 1) || undefined);
    expect(reconnects[0]).toMatchObject({ resumed: true, resync: true, replayed: 0 });
    await chat(talker, 100, 102);
    await until("pushes after the resync", 3_000, async () => (texts.at(-1) === "m102") || undefined);
    expect(texts.slice(-3)).toEqual(["m100", "m101", "m102"]);
    await proxy.stop();
  });

  // last: it drains gateway 0
  it("a session already away when its gateway drains keeps what was stored for it and resumes elsewhere gap-free", async () => {
    const { player, proxy, talker, texts, reconnects } = await scene();
    const dropped = new Promise((resolve) => player.onDisconnect(resolve));
    await chat(talker, 1, 3);
    await until("the first pushes", 3_000, async () => (texts.length === 3) || undefined);
    proxy.refusing = true;
    proxy.drop();
    await dropped;
    await chat(talker, 4, 8);
    const drained = cluster.gateways[0]!.drain();
    // the drain moves its connected sessions and then waits for the handovers, this one included
    await new Promise((r) => setTimeout(r, 300));
    await chat(talker, 9, 10);
    proxy.upstream = cluster.gateways[1]!.address();
    proxy.refusing = false;
    await until("the reconnect", 10_000, async () => (reconnects.length === 1) || undefined);
    expect(reconnects[0]).toMatchObject({ resumed: true, resync: false, replayed: 7 });
    expect(texts).toEqual(range(1, 10));
    await drained;
    await proxy.stop();
  });
});
