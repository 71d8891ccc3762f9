import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { TEST_MAX_CONNECTIONS_PER_ADDRESS } from "../../src/testing/config.js";
import { type CliProcess, ctlStatus, loggedIn, startEchoLoad, startOpsCluster, stopOpsCluster, until, type Sample } from "../helpers/ops.js";
import { startNatsCluster, startRedis, type RunningNatsCluster, type RunningServer } from "../helpers/servers.js";

const CLIENTS = 4;
const WORKERS_PER_CLIENT = 8;
const WORKERS = CLIENTS * WORKERS_PER_CLIENT;
const REQUEST_TIMEOUT_MS = 1_000;

/** What happened around the loss of one NATS node, as the load saw it. */
interface Failover {
  /** Connection names the lost node held (nats-server /connz). */
  moved: string[];
  samples: Sample[];
  failed: Sample[];
  lostAt: number;
  /** When every connection of the lost node showed on a surviving node. */
  reconnectedAt: number;
  /** Requests in flight when every loop was stopped (0: every request settled). */
  unsettled: number;
  okAfterReconnect: number;
}

describe("a cluster on a 3-node NATS cluster: kill -9 of the node its gateway uses, under load", () => {
  let nats: RunningNatsCluster;
  let redis: RunningServer;
  let dir: string | undefined;
  let master: CliProcess | undefined;
  let config: string;
  const clients: Client[] = [];
  const pids = new Set<number>();
  const up = [true, true, true];

  beforeAll(async () => {
    nats = await startNatsCluster(3);
    redis = await startRedis();
    const ops = await startOpsCluster(
      "sy-nats-failover-",
      {
        nats: { servers: nats.urls, embedded: false },
        redis: { url: redis.url, embedded: false },
        gateway: { rateLimit: { perSecond: 100_000, burst: 100_000 }, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxConnectionsPerAddress: TEST_MAX_CONNECTIONS_PER_ADDRESS },
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

  /** Names of the client connections each node holds, in node order; a lost node holds none. */
  async function connectionsPerNode(): Promise<string[][]> {
    return Promise.all(
      nats.monitorUrls.map(async (url, i) => {
        if (!up[i]) return [];
        const connz = (await (await fetch(`${url}/connz`)).json()) as { connections?: { name?: string }[] };
        return (connz.connections ?? []).map((c) => c.name ?? "").filter((name) => name !== "");
      }),
    );
  }

  /** Runs the load, kill -9s the node the gateway is connected to, waits for recovery, stops the load. */
  async function killGatewayNode(): Promise<Failover> {
    const signal = "SIGKILL";
    const before = await connectionsPerNode();
    const victim = before.findIndex((names) => names.some((n) => n.startsWith("switchyard gateway")));
    expect(victim).toBeGreaterThanOrEqual(0);
    const moved = before[victim]!;
    const loads = clients.map((c) => startEchoLoad(c, WORKERS_PER_CLIENT));
    const all = (): Sample[] => loads.flatMap((l) => l.samples);
    await until("load to flow", 10_000, async () => (all().length >= 400 ? true : undefined));

    const lostAt = Date.now();
    nats.nodes[victim]!.process.kill(signal);
    up[victim] = false;
    const reconnectedAt = await until("every process of the lost node to reconnect to another node", 20_000, async () => {
      const names = new Set((await connectionsPerNode()).flat());
      return moved.every((n) => names.has(n)) ? Date.now() : undefined;
    });
    const okAfterReconnect = (): number => all().filter((s) => s.ok && s.sentAt > reconnectedAt).length;
    await until("requests to succeed again", 15_000, async () => (okAfterReconnect() >= 1_000 ? true : undefined));
    const samples = (await Promise.all(loads.map((l) => l.stop()))).flat();
    const failed = samples.filter((s) => !s.ok);
    const result = { moved, samples, failed, lostAt, reconnectedAt, unsettled: loads.reduce((n, l) => n + l.inflight, 0), okAfterReconnect: okAfterReconnect() };
    report(signal, result);
    return result;
  }

  function report(signal: string, f: Failover): void {
    const firstOk = Math.min(...f.samples.filter((s) => s.ok && s.sentAt >= f.lostAt).map((s) => s.doneAt));
    const slowest = Math.max(...f.samples.map((s) => s.doneAt - s.sentAt));
    const lastDone = Math.max(...f.samples.map((s) => s.doneAt));
    const rate = (from: number, to: number): number => Math.round((f.samples.filter((s) => s.ok && s.doneAt >= from && s.doneAt < to).length * 1000) / Math.max(1, to - from));
    const count = (code: string): number => f.failed.filter((s) => s.code === code).length;
    console.log(
      `[nats failover ${signal}] the lost node held: ${f.moved.join(", ")}\n` +
        `[nats failover ${signal}] ${f.samples.length} requests by ${WORKERS} workers, ${f.failed.length} failed ` +
        `(${count("UNAVAILABLE")} UNAVAILABLE, ${count("TIMEOUT")} TIMEOUT); every process reconnected ${f.reconnectedAt - f.lostAt} ms after the ${signal} ` +
        `(seen through /connz); first success completed ${firstOk - f.lostAt} ms after; slowest request ${slowest} ms; ` +
        `ok/s in the second before ${rate(f.lostAt - 1_000, f.lostAt)}, after the reconnect ${rate(f.reconnectedAt, lastDone)}`,
    );
  }

  async function expectCtlStatusAnswers(): Promise<void> {
    const status = await ctlStatus(config);
    expect(status.master).not.toBeNull();
    expect(status.instances.filter((r) => r.module === "echo").map((r) => r.state)).toEqual(["ready", "ready", "ready"]);
  }

  it("kill -9: the requests in flight through the dead node fail at once (UNAVAILABLE), those sent during the reconnect are refused unsent; rps recovers; ctl answers", async () => {
    const f = await killGatewayNode();
    // Nothing hangs: every request settled.
    expect(f.unsettled).toBe(0);
    const lost = f.failed.filter((s) => s.code === "UNAVAILABLE" && /was lost while waiting for the answer/.test(s.message ?? ""));
    const refused = f.failed.filter((s) => s.code === "UNAVAILABLE" && /not sent: reconnecting to NATS/.test(s.message ?? ""));
    // When every echo instance was on the dead node too, the gateway can be back before them: the
    // module then has no subscriber for a moment and its requests fail at once, never delivered.
    const noInstance = f.failed.filter((s) => s.code === "UNAVAILABLE" && /module "echo" is not running/.test(s.message ?? ""));
    const timedOut = f.failed.filter((s) => s.code === "TIMEOUT");
    console.log(
      `[nats failover SIGKILL] failed exactly: ${lost.length} in flight at the disconnect, ${refused.length} refused unsent while reconnecting, ` +
        `${noInstance.length} found no echo instance yet, ${timedOut.length} timed out`,
    );
    const unexplained = f.failed.filter((s) => !lost.includes(s) && !refused.includes(s) && !noInstance.includes(s) && !timedOut.includes(s));
    expect(unexplained.map((s) => `${s.code}: ${s.message}`)).toEqual([]);
    for (const s of noInstance) expect(s.sentAt).toBeGreaterThanOrEqual(f.lostAt);
    // In flight at the kill: at most one request per worker (lost with the gateway's connection, or
    // on its way to a module of the dead node). The gateway was on the dead node, so its load was hit:
    // requests already forwarded are lost, and those still between a client and the gateway at the
    // kill arrive during the reconnect and are refused. Which of the two a worker sees depends on
    // where its request was at that instant (one CI run saw none lost). On a starved machine the
    // gateway may not even have forwarded them yet and they are answered after its reconnect
    // (one CI run saw none fail at all), so what is sure is that the kill hit live load and that
    // every failure is one of the kinds above.
    expect(lost.length + timedOut.length).toBeLessThanOrEqual(WORKERS);
    expect(f.samples.filter((s) => s.sentAt < f.lostAt && s.doneAt >= f.lostAt).length).toBeGreaterThan(0);
    // Refused ones were sent after the kill, before the processes were back.
    for (const s of refused) expect([s.sentAt >= f.lostAt, s.sentAt < f.reconnectedAt]).toEqual([true, true]);
    expect(f.okAfterReconnect).toBeGreaterThanOrEqual(1_000);
    await expectCtlStatusAnswers();
  }, 60_000);
});
