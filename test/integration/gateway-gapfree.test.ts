import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client, ReconnectInfo } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import type { team } from "../../src/generated/proto.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { DropProxy } from "../helpers/drop-proxy.js";
import { gatewayCommandSubject } from "../../src/bus/subjects.js";
import { loadProto } from "../../src/proto/registry.js";
import type { cluster as clusterProto } from "../../src/generated/proto.js";
import { ErrorCode as NatsErrorCode, NatsError } from "nats";
import { requireBuild, startCli, until, type CliProcess } from "../helpers/ops.js";
import { freePort, waitForPort } from "../helpers/servers.js";
import loginModule from "../../modules/login/index.js";

const RECONNECT = { minDelayMs: 30, maxDelayMs: 100, maxAttempts: 1_000, windowMs: 60_000 };
const ROUTE = "team.ChatMessage";

/** One player: an SDK client through its own proxy to the doomed gateway, and what it received. */
interface Player {
  name: string;
  uid: string;
  client: Client;
  proxy: DropProxy;
  texts: string[];
  seqs: number[];
  reconnects: ReconnectInfo[];
  errors: string[];
}

describe("a gateway killed with -9: every point push sent after the kill reaches its player once, in order, resume OK", () => {
  let cluster: TestCluster;
  let doomed: CliProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    requireBuild();
    cluster = await startTestCluster({
      modules: [{ def: loginModule, instances: 2 }],
      config: {
        gateway: { ...DEFAULT_CONFIG.gateway, resume: { windowMs: 30_000, maxPushes: 200, maxBytes: 1 << 20, recentPushes: 64 } },
        modules: { login: { instances: 2, settings: { scryptN: 1024 } } },
      },
    });
    dir = mkdtempSync(join(tmpdir(), "sy-gw-gapfree-"));
  });

  afterAll(async () => {
    if (doomed && doomed.proc.exitCode === null) doomed.proc.kill("SIGKILL");
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a CLI gateway `id` (a process of its own, to kill -9); returns its port. */
  async function startDoomed(id: string): Promise<number> {
    const port = await freePort();
    const config = join(dir, `${id}.json`);
    writeFileSync(config, JSON.stringify({ ...cluster.config, gateways: [...cluster.config.gateways, { id, host: "127.0.0.1", port }] }));
    doomed = startCli(["gateway", "--config", config, "--id", id]);
    await waitForPort(port, 15_000);
    return port;
  }

  /**
   * Waits until nats-server dropped the killed gateway's connection (its command subject has no
   * responders): a message published before that went to the dead connection and got neither an
   * answer nor "no responders" (see README, the window after a death).
   */
  async function natsNoticed(id: string): Promise<void> {
    const nc = cluster.modules[0]!.runtime.nc;
    const ping = loadProto().message<clusterProto.GatewayCommand>("cluster.GatewayCommand").encode({ ping: {} });
    await until(`nats-server dropped ${id}`, 5_000, async () => {
      try {
        await nc.request(gatewayCommandSubject(id), ping, { timeout: 100 });
        return undefined;
      } catch (err) {
        return err instanceof NatsError && err.code === NatsErrorCode.NoResponders ? true : undefined;
      }
    });
  }

  /** A player: an SDK client through its own proxy to `port`, logged in as `name`. */
  async function player(port: number, name: string): Promise<Player> {
      const proxy = await DropProxy.start({ host: "127.0.0.1", port });
      const client = await cluster.client(0, { host: "127.0.0.1", port: proxy.port, reconnect: RECONNECT });
      await client.request("login.Register", { username: name, password: "password-1" });
      const { uid } = await client.request("login.Login", { username: name, password: "password-1" });
      const p: Player = { name, uid, client, proxy, texts: [], seqs: [], reconnects: [], errors: [] };
      client.on<team.ChatMessage>(ROUTE, (m) => {
        p.texts.push(m.text);
        p.seqs.push(client.lastSeq);
      });
      client.onReconnect((info) => p.reconnects.push(info));
      client.onError((err) => p.errors.push(`${err.code}: ${err.message}`));
      return p;
  }

  /**
   * Players away at the death and players connected at it, resumed before and after the
   * adoption; `send` delivers message `text` to every player (point pushes, or one channel
   * publication).
   */
  async function deathScenario(gatewayId: string, prefix: string, send: (all: Player[], text: string) => Promise<void>, join: (p: Player) => Promise<void>): Promise<void> {
    const port = await startDoomed(gatewayId);
    // away*: their connection dropped before the death (the dead gateway stored them as away);
    // conn*: connected when it died. *Early resume before the sweeper found the death (the
    // login's kick gets no responders: Bind.previous_lost), *Late after the adoption.
    const players = {
      awayEarly: await player(port, `${prefix}-away-early`),
      awayLate: await player(port, `${prefix}-away-late`),
      connEarly: await player(port, `${prefix}-conn-early`),
      connLate: await player(port, `${prefix}-conn-late`),
    };
    const all = Object.values(players);
    for (const p of all) await join(p);
    const rt = cluster.modules[0]!.runtime;
    let sent = 0;
    /** Sends messages n..m to every player, one after another. */
    const pushAll = async (from: number, to: number): Promise<void> => {
      for (let i = from; i <= to; i++) {
        await send(all, `p${i}`);
        sent = i;
      }
    };
    const received = async (p: Player, n: number): Promise<void> => {
      try {
        await until(`${p.name} has ${n} pushes`, 15_000, async () => (p.texts.length >= n ? true : undefined));
      } catch (err) {
        // lostMarked: the sweeper saw a ping time out shortly before the death (a starved gateway looks like a lost host): resumes after its adoption answer RESYNC by design
        const lostMarked = await rt.onlineTable().pushesLost(gatewayId);
        throw new Error(`${(err as Error).message}; it has ${JSON.stringify({ texts: p.texts, seqs: p.seqs, reconnects: p.reconnects, errors: p.errors, lostMarked })}`);
      }
    };

    await pushAll(1, 5);
    for (const p of all) await received(p, 5);

    // the away players drop (reset, no FIN): the doomed gateway keeps them away and stores their pushes
    for (const p of [players.awayEarly, players.awayLate]) {
      p.proxy.refusing = true;
      p.proxy.drop();
    }
    await until("the drops noticed", 5_000, async () => (players.awayEarly.client.lastSeq === 5 && players.awayLate.client.lastSeq === 5) || undefined);
    await new Promise((r) => setTimeout(r, 200));
    await pushAll(6, 8);
    for (const p of [players.connEarly, players.connLate]) await received(p, 8);

    // kill -9; the late players' proxies refuse until the adoption, the early ones reach the live gateway at once
    players.connLate.proxy.refusing = true;
    for (const p of all) p.proxy.upstream = cluster.gateways[0]!.address();
    const killedAt = Date.now();
    doomed!.proc.kill("SIGKILL");
    await doomed!.exited;
    await natsNoticed(gatewayId);
    console.log(`kill -9 -> nats-server dropped the gateway's connection after <= ${Date.now() - killedAt} ms`);
    players.awayEarly.proxy.refusing = false;
    await pushAll(9, 14);

    // the sweeper finds the death and the live gateway adopts the late players
    const table = rt.onlineTable();
    const adopted = await until("the late players adopted by gw-1", 10_000, async () => {
      const [a, c] = await table.lookupMany([players.awayLate.uid, players.connLate.uid]);
      return a?.gatewayId === "gw-1" && c?.gatewayId === "gw-1" ? Date.now() : undefined;
    });
    console.log(`kill -9 -> the dead gateway's sessions adopted after ${adopted - killedAt} ms`);
    expect(await table.sessionsOf(gatewayId)).toEqual([]);
    await pushAll(15, 18);
    players.awayLate.proxy.refusing = false;
    players.connLate.proxy.refusing = false;
    for (const p of all) await until(`${p.name} resumed`, 15_000, async () => (p.reconnects.length >= 1 ? true : undefined));
    await pushAll(19, 20);

    const expected = Array.from({ length: 20 }, (_, i) => `p${i + 1}`);
    for (const p of all) {
      await received(p, 20);
      await new Promise((r) => setTimeout(r, 100));
      expect({ name: p.name, texts: p.texts, errors: p.errors }).toEqual({ name: p.name, texts: expected, errors: [] });
      // the push sequence has no gap and no repeat (the SDK drops repeats and reports gaps)
      expect(p.seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(p.reconnects).toHaveLength(1);
      expect(p.reconnects[0]).toMatchObject({ resumed: true, resync: false });
      console.log(`${p.name}: 20/20 pushes in order, replayed ${p.reconnects[0]!.replayed}, ${p.reconnects[0]!.attempts} attempts`);
    }
    expect(sent).toBe(20);
    expect(await table.pushesLost(gatewayId)).toBe(false);
    for (const p of all) {
      await p.client.close();
      await p.proxy.stop();
    }
  }

  it("players away at the death and players connected at it, resumed before and after the adoption", async () => {
    const rt = cluster.modules[0]!.runtime;
    const pointPushes = async (all: Player[], text: string): Promise<void> => {
      for (const p of all) expect(await rt.pushToUid(p.uid, ROUTE, { teamId: "", fromUid: "", fromUsername: "", text, sentAt: 0 })).toBe(true);
    };
    await deathScenario("gw-doomed", "gf", pointPushes, async () => undefined);
  }, 60_000);

  it("the same with one pushToUids per message: what the dead gateway could not take is kept per uid, replayed once, in order, resume OK", async () => {
    const rt = cluster.modules[0]!.runtime;
    const toMany = async (all: Player[], text: string): Promise<void> => {
      expect(await rt.pushToUids(all.map((p) => p.uid), ROUTE, { teamId: "", fromUid: "", fromUsername: "", text, sentAt: 0 })).toEqual([]);
    };
    await deathScenario("gw-doomed-many", "gfm", toMany, async () => undefined);
  }, 60_000);

  it("the same players in a channel: the channel's messages published while their gateway was dead are replayed from its log, once, in order, resume OK", async () => {
    const rt = cluster.modules[0]!.runtime;
    const channel = "team-gapfree";
    const join = async (p: Player): Promise<void> => {
      const entry = (await rt.onlineTable().lookup(p.uid))!;
      await rt.joinChannel({ ...entry, uid: p.uid }, channel);
    };
    // one publication per message, whoever holds the members (the dead gateway, nobody, the adopter)
    const publish = async (_all: Player[], text: string): Promise<void> => {
      rt.publish(channel, ROUTE, { teamId: "", fromUid: "", fromUsername: "", text, sentAt: 0 });
      await new Promise((r) => setTimeout(r, 5));
    };
    await deathScenario("gw-doomed-ch", "gfc", publish, join);
  }, 60_000);

  it("a push by session ref to the dead gateway cannot be kept: the resume answers RESYNC instead of a silent gap", async () => {
    const port = await startDoomed("gw-doomed-2");
    const p = await player(port, "gf-ref");
    const rt = cluster.modules[0]!.runtime;
    const table = rt.onlineTable();
    const ref = { ...(await table.lookup(p.uid))!, uid: p.uid };
    const msg = (text: string) => ({ teamId: "", fromUid: "", fromUsername: "", text, sentAt: 0 });
    // a live gateway never answers the lost-push probe: nothing is marked
    rt.push(ref, ROUTE, msg("by-ref-1"));
    expect(await rt.pushToUid(p.uid, ROUTE, msg("by-uid-2"))).toBe(true);
    await until("two pushes", 5_000, async () => (p.texts.length === 2 ? true : undefined));
    expect(await table.pushesLost("gw-doomed-2")).toBe(false);

    p.proxy.refusing = true;
    p.proxy.upstream = cluster.gateways[0]!.address();
    doomed!.proc.kill("SIGKILL");
    await doomed!.exited;
    await natsNoticed("gw-doomed-2");
    rt.push(ref, ROUTE, msg("by-ref-3"));
    expect(await rt.pushToUid(p.uid, ROUTE, msg("by-uid-4"))).toBe(true);
    await until("the lost push marked", 5_000, async () => ((await table.pushesLost("gw-doomed-2")) ? true : undefined));
    await until("adopted by gw-1", 10_000, async () => ((await table.lookup(p.uid))?.gatewayId === "gw-1" ? true : undefined));
    p.proxy.refusing = false;
    await until("resumed", 15_000, async () => (p.reconnects.length === 1 ? true : undefined));
    expect(p.reconnects[0]).toMatchObject({ resumed: true, resync: true, replayed: 0 });
    expect(p.texts).toEqual(["by-ref-1", "by-uid-2"]);
    await p.client.close();
    await p.proxy.stop();
  }, 60_000);

  it("a push by session that nats-server still handed to the dying gateway's connection gets no answer at all: the record of pushes by session makes the resume answer RESYNC", async () => {
    const port = await startDoomed("gw-doomed-3");
    const p = await player(port, "gf-blind");
    const rt = cluster.modules[0]!.runtime;
    const table = rt.onlineTable();
    const ref = { ...(await table.lookup(p.uid))!, uid: p.uid };
    const msg = (text: string) => ({ teamId: "", fromUid: "", fromUsername: "", text, sentAt: 0 });
    expect(await rt.pushToUid(p.uid, ROUTE, msg("by-uid-1"))).toBe(true);
    await until("one push", 5_000, async () => (p.texts.length === 1 ? true : undefined));
    p.proxy.refusing = true;
    p.proxy.upstream = cluster.gateways[0]!.address();
    // Stopped, the gateway still holds its NATS connection: the push is routed to it, read by
    // nobody, and dies with the process (no answer, no "no responders").
    doomed!.proc.kill("SIGSTOP");
    rt.push(ref, ROUTE, msg("blind-2"));
    await rt.nc.flush();
    doomed!.proc.kill("SIGKILL");
    await doomed!.exited;
    await natsNoticed("gw-doomed-3");
    await until("adopted by gw-1", 10_000, async () => ((await table.lookup(p.uid))?.gatewayId === "gw-1" ? true : undefined));
    p.proxy.refusing = false;
    await until("resumed", 15_000, async () => (p.reconnects.length === 1 ? true : undefined));
    expect(p.reconnects[0]).toMatchObject({ resumed: true, resync: true, replayed: 0 });
    expect(p.texts).toEqual(["by-uid-1"]);
    await p.client.close();
    await p.proxy.stop();
  }, 60_000);
});
