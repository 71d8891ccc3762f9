import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection, type Service } from "nats";
import { Redis } from "ioredis";
import { announceInstance } from "../../src/bus/discovery.js";
import { createLogger } from "../../src/log/logger.js";
import { GATEWAY_LAPSE_MS, GatewaySweep, OnlineTable } from "../../src/module/index.js";
import { startNats, startRedis, type RunningServer } from "../helpers/servers.js";

interface Orphan {
  gatewayId: string;
  sid: number;
  uid: string;
  reason: string;
}

describe("GatewaySweep against real nats-server and redis-server", () => {
  let nats: RunningServer;
  let redisServer: RunningServer;
  let nc: NatsConnection;
  let redis: Redis;
  const services: Service[] = [];

  async function announceGateway(id: string, startedAt: number): Promise<void> {
    const load = () => ({ state: "ready" as const, served: 0, errors: 0, inflight: 0, sessions: 1 });
    services.push(await announceInstance(nc, { kind: "gateway", module: "gateway", instance: id, version: "1.0.0", pid: process.pid, host: "test", startedAt }, load, () => undefined));
  }

  beforeAll(async () => {
    [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
    nc = await connect({ servers: nats.url });
    redis = new Redis(redisServer.url);
  });

  afterAll(async () => {
    await Promise.allSettled(services.map((s) => s.stop()));
    redis?.disconnect();
    await nc?.close();
    await Promise.allSettled([nats?.stop(), redisServer?.stop()]);
  });

  it("releases a silent gateway's sessions after the lapse and a restarted gateway's old ones; each is reported once by one of two sweeps", async () => {
    const table = new OnlineTable(redis);
    await table.claim("u-live", { gatewayId: "gw-live", sid: 1 });
    await table.claim("u-dead-1", { gatewayId: "gw-dead", sid: 1 });
    await table.claim("u-dead-2", { gatewayId: "gw-dead", sid: 2 });
    await table.claim("u-old", { gatewayId: "gw-restarted", sid: 7 });
    // u-moved was on gw-dead and logged in again on gw-live: not an orphan of gw-dead.
    await table.claim("u-moved", { gatewayId: "gw-dead", sid: 3 });
    await table.claim("u-moved", { gatewayId: "gw-live", sid: 2 });
    await announceGateway("gw-live", Date.now() - 60_000);
    // gw-restarted's current process started after u-old's claim (a crash and a restart)
    await announceGateway("gw-restarted", Date.now() + 5_000);

    const orphans: Orphan[] = [];
    const log = createLogger("test", "sweep", "silent");
    const sweeps = [0, 1].map(() => new GatewaySweep(nc, () => table, (s, reason) => orphans.push({ ...s, reason }), log));
    const t0 = Date.now();
    await Promise.all(sweeps.map((s) => s.sweep(t0)));
    expect(orphans).toEqual([{ gatewayId: "gw-restarted", sid: 7, uid: "u-old", reason: "gateway gw-restarted restarted: the session belonged to its previous process" }]);
    expect(await table.lookup("u-dead-1")).toEqual({ gatewayId: "gw-dead", sid: 1 });

    // Not yet past the lapse: nothing more.
    await Promise.all(sweeps.map((s) => s.sweep(t0 + GATEWAY_LAPSE_MS - 1)));
    expect(orphans).toHaveLength(1);

    await Promise.all(sweeps.map((s) => s.sweep(t0 + GATEWAY_LAPSE_MS)));
    const dead = orphans.slice(1).sort((a, b) => a.sid - b.sid);
    expect(dead.map((o) => [o.gatewayId, o.sid, o.uid])).toEqual([
      ["gw-dead", 1, "u-dead-1"],
      ["gw-dead", 2, "u-dead-2"],
    ]);
    for (const o of dead) expect(o.reason).toBe(`gateway gw-dead stopped answering for ${GATEWAY_LAPSE_MS} ms`);
    expect(await table.lookupMany(["u-dead-1", "u-dead-2", "u-old", "u-live", "u-moved"])).toEqual([
      null,
      null,
      null,
      { gatewayId: "gw-live", sid: 1 },
      { gatewayId: "gw-live", sid: 2 },
    ]);
    expect((await table.gatewaysWithSessions()).sort()).toEqual(["gw-live", "gw-restarted"]);
  }, 20_000);
});
