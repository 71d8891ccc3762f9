import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Client } from "../../src/client/index.js";
import { startMoveLoad, type LoadUser } from "../../bench/lib/move-load.js";
import { expectClean, rolloutUnderLoad } from "../helpers/move-outcome.js";
import { alive, ctl, ctlStatus, startCli, startOpsCluster, stopOpsCluster, until, type CliProcess } from "../helpers/ops.js";
import { freePort } from "../helpers/servers.js";
import { TEST_MAX_CONNECTIONS_PER_ADDRESS } from "../helpers/config.js";

const RECONNECT = { minDelayMs: 50, maxDelayMs: 300, maxAttempts: 100, windowMs: 20_000 };

describe("gateway rollout and SIGTERM drain under load (master, 2 gateways, login, echo, chat)", () => {
  let dir: string;
  let master: CliProcess;
  let config: string;
  const ports: number[] = [];
  const wsPorts: number[] = [];
  const pids = new Set<number>();
  const clients: Client[] = [];
  const users: LoadUser[] = [];

  beforeAll(async () => {
    ports.push(await freePort(), await freePort());
    wsPorts.push(await freePort(), await freePort());
    const ops = await startOpsCluster(
      "sy-gw-rollout-",
      {
        gateways: [
          { id: "gw-1", host: "127.0.0.1", port: ports[0], wsPort: wsPorts[0] },
          { id: "gw-2", host: "127.0.0.1", port: ports[1], wsPort: wsPorts[1] },
        ],
        gateway: {
          rateLimit: { perSecond: 100_000, burst: 100_000 },
          requestTimeoutMs: 5_000,
          maxConnectionsPerAddress: TEST_MAX_CONNECTIONS_PER_ADDRESS,
          handoverTimeoutMs: 10_000,
        },
        modules: {
          login: { instances: 1, settings: { scryptN: 1024 } },
          echo: { instances: 1, ordered: false },
          chat: { instances: 1, settings: { maxMessagesPerWindow: 1_000_000, rateWindowSeconds: 1 } },
        },
      },
      pids,
    );
    dir = ops.dir;
    master = ops.master;
    config = ops.config;
    // 4 players (2 per gateway; player 3 over WebSocket), the talker on gw-1, the teller on gw-2, the notifier on gw-1
    for (let i = 0; i < 7; i++) {
      const where = i === 3 ? { url: `ws://127.0.0.1:${wsPorts[1]}/ws` } : { host: "127.0.0.1", port: ports[i % 2]! };
      const c = await connect({ ...where, heartbeatMs: 0, requestTimeoutMs: 15_000, reconnect: RECONNECT });
      clients.push(c);
      const username = `mover${i}`;
      const { uid } = await c.request("login.Register", { username, password: "password-1" });
      await c.request("login.Login", { username, password: "password-1" });
      users.push({ client: c, uid });
    }
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients }));

  const gatewayRows = async () => (await ctlStatus(config)).instances.filter((r) => r.module === "gateway");

  it("ctl rollout gateway replaces both gateways on their ports: 0 failed requests, 0 missing or duplicated pushes", async () => {
    const before = await gatewayRows();
    expect(before.map((r) => r.instance).sort()).toEqual(["gw-1", "gw-2"]);
    for (const r of before) pids.add(r.pid!);
    const { res, out } = await rolloutUnderLoad(config, users, "roll");
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    console.log(res.stdout.trim());
    expect(res.stdout).toMatch(/^rolled out gateways: 2 replaced in \d+\.\d s\n/);
    expect(res.stdout).toMatch(new RegExp(`  gw-1 -> gw-1-[0-9a-f]{4} on 127\\.0\\.0\\.1:${ports[0]}: \\d+ sessions? moved`));
    expect(res.stdout).toMatch(new RegExp(`  gw-2 -> gw-2-[0-9a-f]{4} on 127\\.0\\.0\\.1:${ports[1]}: \\d+ sessions? moved`));
    expectClean("rollout", out);
    // every player moved (at least once: its gateway was replaced)
    for (const p of out.players) expect(p.reconnects).toBeGreaterThanOrEqual(1);

    const after = await gatewayRows();
    expect(after.map((r) => r.instance).sort()).toEqual([expect.stringMatching(/^gw-1-[0-9a-f]{4}$/), expect.stringMatching(/^gw-2-[0-9a-f]{4}$/)]);
    expect(after.every((r) => r.state === "ready" && r.supervised)).toBe(true);
    for (const old of before) expect(alive(old.pid!)).toBe(false);
    for (const r of after) pids.add(r.pid!);
    // not respawned by supervision a while later either
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await gatewayRows()).map((r) => r.instance).sort()).toEqual(after.map((r) => r.instance).sort());
  });

  it("SIGTERM to one gateway moves its sessions to the other one: 0 failed requests, 0 missing or duplicated pushes", async () => {
    const rows = await gatewayRows();
    // the gateway that holds the most players (where they landed after the rollout)
    const on = (port: number) => users.slice(0, 4).filter((u) => u.client.address.endsWith(`:${port}`) || u.client.address.includes(`:${wsPorts[ports.indexOf(port)]}/`));
    const doomedPort = on(ports[0]!).length >= on(ports[1]!).length ? ports[0]! : ports[1]!;
    const movers = on(doomedPort);
    expect(movers.length).toBeGreaterThan(0);
    const doomed = rows.find((r) => r.instance.startsWith(doomedPort === ports[0] ? "gw-1-" : "gw-2-"))!;
    const load = await startMoveLoad({ players: users.slice(0, 4), talker: users[4]!, teller: users[5]!, notifier: users[6]!, room: "term", requestsPerPlayer: 4, pushGapMs: 0 });
    await until("load to flow", 10_000, async () => (load.answered >= 200 ? true : undefined));
    load.setPhase("during");
    process.kill(doomed.pid!, "SIGTERM");
    await until("the drained gateway's exit", 30_000, async () => (!alive(doomed.pid!) ? true : undefined));
    load.setPhase("after");
    const atExit = load.answered;
    await until("requests after the drain", 15_000, async () => (load.answered >= atExit + 300 ? true : undefined));
    const out = await load.stop();
    expectClean("SIGTERM", out);
    // its players moved to the other gateway (its port), the others stayed
    for (const [i, u] of users.slice(0, 4).entries()) {
      const moved = movers.includes(u);
      expect(out.players[i]!.reconnects, `player ${i}`).toBe(moved ? 1 : 0);
      expect(on(doomedPort).includes(u)).toBe(false);
    }
  });

  it("a new master adopts the rolled-out gateways and starts no second gateway for their config entries", async () => {
    await until("both gateways ready (the drained one respawned)", 30_000, async () => {
      const rows = await gatewayRows();
      return rows.length === 2 && rows.every((r) => r.state === "ready") ? rows : undefined;
    });
    const before = await ctlStatus(config);
    const gateways = (st: typeof before) => st.master!.processes.filter((p) => p.key.startsWith("gateway/")).map((p) => p.key).sort();
    expect(gateways(before)).toEqual([expect.stringMatching(/^gateway\/gw-1-[0-9a-f]{4}$/), expect.stringMatching(/^gateway\/gw-2-[0-9a-f]{4}$/)]);
    master.proc.kill("SIGKILL");
    await master.exited;
    master = startCli(["start", "--config", config]);
    pids.add(master.proc.pid!);
    await master.waitLine(/^switchyard: adopted/, 30_000);
    const ready = await master.waitLine(/^switchyard ready:/, 30_000);
    expect(ready).toMatch(/gateway gw-1-[0-9a-f]{4} at 127\.0\.0\.1:\d+/);
    expect(ready).toMatch(/gateway gw-2-[0-9a-f]{4} at 127\.0\.0\.1:\d+/);
    expect(ready).not.toMatch(/gateway gw-[12] at/);
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await ctlStatus(config);
    expect(gateways(after)).toEqual(gateways(before));
    expect((await gatewayRows()).map((r) => r.instance).sort()).toEqual(before.instances.filter((r) => r.module === "gateway").map((r) => r.instance).sort());
    expect(after.master!.processes.filter((p) => p.key.startsWith("gateway/")).every((p) => p.adopted && p.restarts === 0)).toBe(true);
    // the clients never noticed
    for (const u of users) expect((await u.client.request("echo.Echo", { text: "still here" })).text).toBe("still here");
  });
});
