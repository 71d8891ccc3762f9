import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { TEST_MAX_CONNECTIONS_PER_ADDRESS } from "../../src/testing/config.js";
import { type CliProcess, ctlStatus, loggedIn, startEchoLoad, startOpsCluster, stopOpsCluster, until, type EchoLoad, type Sample } from "../helpers/ops.js";
import { startNatsCluster, startRedis, type RunningNatsCluster, type RunningServer } from "../helpers/servers.js";

/** Names of the client connections each node holds (nats-server's /connz), in node order; a dead node holds none. */
async function connectionsPerNode(cluster: RunningNatsCluster, alive: readonly boolean[]): Promise<string[][]> {
  return Promise.all(
    cluster.monitorUrls.map(async (url, i) => {
      if (!alive[i]) return [];
      const connz = (await (await fetch(`${url}/connz`)).json()) as { connections?: { name?: string }[] };
      return (connz.connections ?? []).map((c) => c.name ?? "").filter((name) => name !== "");
    }),
  );
}

const WORKERS_PER_CLIENT = 8;
const CLIENTS = 4;
const REQUEST_TIMEOUT_MS = 1_000;

describe("a cluster on a 3-node NATS cluster: kill -9 of the node the gateway uses, under load", () => {
  let nats: RunningNatsCluster;
  let redis: RunningServer;
  let dir: string | undefined;
  let master: CliProcess | undefined;
  let config: string;
  const clients: Client[] = [];
  const pids = new Set<number>();

  beforeAll(async () => {
    nats = await startNatsCluster(3);
    redis = await startRedis();
    const ops = await startOpsCluster(
      "sy-nats-failover-",
      {
        nats: { servers: nats.urls, embedded: false },
        redis: { url: redis.url, embedded: false },
        gateway: {
          rateLimit: { perSecond: 100_000, burst: 100_000 },
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          maxConnectionsPerAddress: TEST_MAX_CONNECTIONS_PER_ADDRESS,
        },
        modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 3, ordered: false } },
      },
      pids,
    );
    ({ dir, master, config } = ops);
    for (let i = 0; i < CLIENTS; i++) clients.push(await loggedIn(ops.gwPort, `failover-${i}`));
  }, 60_000);

  afterAll(async () => {
    await stopOpsCluster({ dir, master, pids, clients });
    await nats?.stop();
    await redis?.stop();
  });

  it("only requests in flight through the dead node fail (TIMEOUT/UNAVAILABLE), every process moves to the others, rps recovers, ctl answers", async () => {
    const alive = [true, true, true];
    const before = await connectionsPerNode(nats, alive);
    const victim = before.findIndex((names) => names.some((n) => n.startsWith("switchyard gateway")));
    expect(victim).toBeGreaterThanOrEqual(0);
    const moved = before[victim]!;

    const loads: EchoLoad[] = clients.map((c) => startEchoLoad(c, WORKERS_PER_CLIENT));
    const all = (): Sample[] => loads.flatMap((l) => l.samples);
    await until("load to flow", 10_000, async () => (all().length >= 400 ? true : undefined));

    const killedAt = Date.now();
    nats.nodes[victim]!.process.kill("SIGKILL");
    alive[victim] = false;

    // Every process that was on the dead node shows up on a surviving one.
    const reconnectedAt = await until("every process of the dead node to reconnect to another node", 15_000, async () => {
      const names = new Set((await connectionsPerNode(nats, alive)).flat());
      return moved.every((n) => names.has(n)) ? Date.now() : undefined;
    });
    const okAfterKill = (): number => all().filter((s) => s.ok && s.sentAt > reconnectedAt).length;
    await until("requests to succeed again", 15_000, async () => (okAfterKill() >= 1_000 ? true : undefined));
    const samples = (await Promise.all(loads.map((l) => l.stop()))).flat();

    const failed = samples.filter((s) => !s.ok);
    const firstOkAfterKill = Math.min(...samples.filter((s) => s.ok && s.sentAt >= killedAt).map((s) => s.doneAt));
    const slowest = Math.max(...samples.map((s) => s.doneAt - s.sentAt));
    const rate = (from: number, to: number): number => Math.round((samples.filter((s) => s.ok && s.doneAt >= from && s.doneAt < to).length * 1000) / (to - from));
    const lastDone = Math.max(...samples.map((s) => s.doneAt));
    console.log(
      `[nats failover] on the killed node: ${moved.join(", ")}\n` +
        `[nats failover] ${samples.length} requests, ${failed.length} failed (${failed.filter((s) => s.code === "UNAVAILABLE").length} UNAVAILABLE, ` +
        `${failed.filter((s) => s.code === "TIMEOUT").length} TIMEOUT); every process reconnected ${reconnectedAt - killedAt} ms after the kill ` +
        `(seen through /connz); first success completed ${firstOkAfterKill - killedAt} ms after the kill; slowest request ${slowest} ms; ` +
        `rps before ${rate(killedAt - 1_000, killedAt)}, after ${rate(reconnectedAt, lastDone)}`,
    );

    // Nothing hangs: every request of every worker settled, and no failure waited for the client's own timeout.
    expect(loads.map((l) => l.inflight)).toEqual(loads.map(() => 0));
    expect(failed.filter((s) => s.code !== "TIMEOUT" && s.code !== "UNAVAILABLE")).toEqual([]);
    // Only the requests in flight at the kill fail: at most one per worker, each sent before the processes were back.
    expect(failed.length).toBeLessThanOrEqual(CLIENTS * WORKERS_PER_CLIENT);
    // The gateway was on the dead node: its requests in flight fail at the disconnect, not after their timeout.
    expect(failed.filter((s) => s.code === "UNAVAILABLE").length).toBeGreaterThan(0);
    for (const s of failed) expect(s.sentAt).toBeLessThan(reconnectedAt);
    expect(okAfterKill()).toBeGreaterThanOrEqual(1_000);

    const status = await ctlStatus(config);
    expect(status.master).not.toBeNull();
    expect(status.instances.filter((r) => r.module === "echo").map((r) => r.state)).toEqual(["ready", "ready", "ready"]);
  }, 90_000);
});
