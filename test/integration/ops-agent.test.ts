import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { alive, type CliProcess, ctl, ctlStatus, loggedIn, startCli, startOpsCluster, stopOpsCluster, until } from "../helpers/ops.js";

describe("multi-host: a host agent and an instance started by hand", () => {
  let dir: string;
  let config: string;
  let natsUrl: string;
  let master: CliProcess;
  let agent: CliProcess;
  let hand: CliProcess;
  let client: Client;
  const pids = new Set<number>();

  beforeAll(async () => {
    const ops = await startOpsCluster("sy-ops-agent-", {
      modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1, ordered: false } },
      master: { restartBackoffMinMs: 200, restartBackoffMaxMs: 2_000 },
    }, pids);
    dir = ops.dir;
    master = ops.master;
    config = ops.config;
    natsUrl = ops.natsUrl;
    client = await loggedIn(ops.gwPort, "traveller");
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients: [client], others: [hand, agent] }));

  it("places, respawns and stops instances on the agent's host; a hand-started instance joins and shows unsupervised", async () => {
    const noAgent = await ctl(config, ["scale", "echo", "2", "--host", "host-b"]);
    expect(noAgent.code).toBe(1);
    expect(noAgent.stderr).toContain('scale echo: no agent answers for host "host-b": start one there with `npx switchyard agent --nats URL --host-id host-b`');

    agent = startCli(["agent", "--nats", natsUrl, "--host-id", "host-b", "--config", config]);
    pids.add(agent.proc.pid!);
    await agent.waitLine(/^switchyard agent host-b ready/, 15_000);

    const up = await ctl(config, ["scale", "echo", "3", "--host", "host-b"]);
    expect(up.stderr).toBe("");
    expect(up.stdout).toBe("echo: 1 -> 3 instances (+echo/1 +echo/2)\n");
    const placed = await ctlStatus(config);
    const onB = placed.instances.filter((r) => r.module === "echo" && r.host === "host-b");
    expect(onB.map((r) => [r.state, r.supervised])).toEqual([
      ["ready", true],
      ["ready", true],
    ]);
    expect(placed.master!.processes.filter((p) => p.host === "host-b").map((p) => p.key).sort()).toEqual(["echo/1", "echo/2"]);
    for (const r of onB) pids.add(r.pid!);
    // Requests reach them through the gateway like any other instance.
    const servedBy = new Set<string>();
    await until("a reply from host-b", 10_000, async () => {
      const r = await client.request("echo.Echo", { text: "where" });
      servedBy.add(r.servedBy);
      return onB.some((b) => servedBy.has(b.instance)) ? true : undefined;
    });

    // kill -9 on the agent's host: the agent reports the exit, the master respawns it there.
    process.kill(onB[0]!.pid!, "SIGKILL");
    const again = await until("the instance on host-b to be respawned", 20_000, async () => {
      const s = await ctlStatus(config);
      const b = s.instances.filter((r) => r.module === "echo" && r.host === "host-b");
      return b.length === 2 && b.every((r) => r.state === "ready") && !b.some((r) => r.instance === onB[0]!.instance) ? b : undefined;
    });
    for (const r of again) pids.add(r.pid!);

    // Started by hand with only the NATS url: serves, shows in status, but no master supervises it.
    hand = startCli(["module", "echo", "--nats", natsUrl, "--instance", "echo-by-hand", "--config", config]);
    pids.add(hand.proc.pid!);
    const withHand = await until("the hand-started instance ready in status", 15_000, async () => {
      const s = await ctlStatus(config);
      const r = s.instances.find((x) => x.instance === "echo-by-hand");
      return r?.state === "ready" ? r : undefined; // listed from "starting" on
    });
    expect(withHand).toMatchObject({ module: "echo", state: "ready", supervised: false, answering: true, restarts: null });

    const down = await ctl(config, ["scale", "echo", "1"]);
    expect(down.stdout).toBe("echo: 3 -> 1 instances (-echo/2 -echo/1)\n");
    for (const r of again) expect(alive(r.pid!)).toBe(false);
    const left = await ctlStatus(config);
    expect(left.instances.filter((r) => r.module === "echo").map((r) => r.host === "host-b")).toEqual([false, false]);
    expect(left.instances.some((r) => r.instance === "echo-by-hand")).toBe(true);
  }, 60_000);
});
