import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import type { StatusRow } from "../../src/cli/status-view.js";
import { alive, type CliProcess, ctl, ctlStatus, loggedIn, startCli, startEchoLoad, startOpsCluster, stopOpsCluster, until } from "../helpers/ops.js";

const ids = (rows: StatusRow[]): string[] => rows.map((r) => r.instance).sort();

describe("faults: an instance and the master killed with -9 under load", () => {
  let dir: string;
  let config: string;
  let gwPort: number;
  let master: CliProcess;
  let client: Client;
  const pids = new Set<number>();

  beforeAll(async () => {
    const ops = await startOpsCluster("sy-ops-crash-", {
      modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 2, ordered: false } },
      master: { restartBackoffMinMs: 200, restartBackoffMaxMs: 2_000 },
    }, pids);
    dir = ops.dir;
    master = ops.master;
    config = ops.config;
    gwPort = ops.gwPort;
    client = await loggedIn(gwPort, "crasher");
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients: [client] }));

  it("kill -9 of an echo instance: only requests in flight fail (UNAVAILABLE/TIMEOUT); the master respawns it", async () => {
    const before = await ctlStatus(config);
    for (const r of before.instances) pids.add(r.pid!);
    const victim = before.instances.find((r) => r.module === "echo")!;
    const load = startEchoLoad(client, 6);
    await until("load to flow", 10_000, async () => (load.samples.length >= 50 ? true : undefined));
    const inflightAtKill = load.inflight;
    process.kill(victim.pid!, "SIGKILL");
    const killedAt = load.samples.length;
    const replaced = await until("the killed instance to be replaced", 20_000, async () => {
      const s = await ctlStatus(config);
      const echo = s.instances.filter((r) => r.module === "echo");
      return echo.length === 2 && echo.every((r) => r.state === "ready" && r.instance !== victim.instance) ? s : undefined;
    });
    for (const r of replaced.instances) pids.add(r.pid!);
    await until("more requests", 15_000, async () => (load.samples.length >= killedAt + 200 ? true : undefined));
    const samples = await load.stop();

    const failed = samples.filter((s) => !s.ok);
    for (const f of failed) expect(["UNAVAILABLE", "TIMEOUT"]).toContain(f.code);
    // Each load worker has one request in flight: at most those were lost with the victim.
    expect(failed.length).toBeLessThanOrEqual(inflightAtKill);
    // The 100 requests sent last all succeeded. (Sorted by send time: a request lost with the
    // victim completes only at its TIMEOUT, after requests sent later.)
    const lastSent = [...samples].sort((a, b) => a.sentAt - b.sentAt).slice(-100);
    expect(lastSent.filter((s) => !s.ok)).toEqual([]);
    const slot = replaced.master!.processes.find((p) => p.instance !== victim.instance && p.restarts === 1);
    expect(slot?.module).toBe("echo");
    expect(slot?.lastExit?.signal).toBe("SIGKILL");
  }, 60_000);

  it("kill -9 of the master: clients keep being served; a new master adopts the same instances", async () => {
    const before = await ctlStatus(config);
    const oldMasterPid = master.proc.pid!;
    const load = startEchoLoad(client, 4);
    await until("load to flow", 10_000, async () => (load.samples.length >= 50 ? true : undefined));

    master.proc.kill("SIGKILL");
    await master.exited;
    const headless = await ctlStatus(config);
    expect(headless.master).toBeNull();
    expect(ids(headless.instances)).toEqual(ids(before.instances));
    const atRestart = load.samples.length;
    await until("requests while no master runs", 10_000, async () => (load.samples.length >= atRestart + 100 ? true : undefined));

    master = startCli(["start", "--config", config]);
    pids.add(master.proc.pid!);
    expect(await master.waitLine(/^switchyard: adopted/, 30_000)).toBe("switchyard: adopted 4 running instances started by an earlier master");
    await master.waitLine(/^switchyard ready:/, 30_000);
    const after = await ctlStatus(config);
    expect(after.master!.pid).not.toBe(oldMasterPid);
    expect(ids(after.instances)).toEqual(ids(before.instances));
    expect(after.master!.processes.map((p) => [p.key, p.adopted, p.state]).sort()).toEqual(
      before.master!.processes.map((p) => [p.key, true, "ready"]).sort(),
    );
    expect(after.instances.every((r) => r.supervised && r.answering)).toBe(true);
    const samples = await load.stop();
    expect(samples.filter((s) => !s.ok)).toEqual([]);
  }, 60_000);

  it("an adopted instance that dies is respawned; rollout replaces adopted instances with no failed request", async () => {
    const status = await ctlStatus(config);
    const adoptedEcho = status.instances.filter((r) => r.module === "echo");
    process.kill(adoptedEcho[0]!.pid!, "SIGKILL");
    const respawned = await until("the adopted instance to be respawned", 20_000, async () => {
      const s = await ctlStatus(config);
      const echo = s.instances.filter((r) => r.module === "echo");
      return echo.length === 2 && echo.every((r) => r.state === "ready") && !echo.some((r) => r.instance === adoptedEcho[0]!.instance) ? echo : undefined;
    });
    for (const r of respawned) pids.add(r.pid!);

    const load = startEchoLoad(client, 6);
    await until("load to flow", 10_000, async () => (load.samples.length >= 50 ? true : undefined));
    const res = await ctl(config, ["rollout", "echo"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const rolledAt = load.samples.length;
    await until("requests after the rollout", 10_000, async () => (load.samples.length >= rolledAt + 100 ? true : undefined));
    const samples = await load.stop();
    expect(samples.filter((s) => !s.ok)).toEqual([]);
    const echo = (await ctlStatus(config)).instances.filter((r) => r.module === "echo");
    expect(echo).toHaveLength(2);
    expect(echo.some((r) => respawned.some((o) => o.instance === r.instance))).toBe(false);
    for (const r of respawned) expect(alive(r.pid!)).toBe(false);
    for (const r of echo) pids.add(r.pid!);

    // A clean stop of the adopting master stops everything, adopted processes included.
    const all = await ctlStatus(config);
    master.proc.kill("SIGINT");
    expect(await master.exited).toBe(0);
    for (const r of all.instances) expect(alive(r.pid!), `${r.instance} still alive`).toBe(false);
  }, 60_000);
});
