import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "nats";
import { listInstances } from "../../src/bus/discovery.js";
import { startModule } from "../../src/module/index.js";
import { testConfig } from "../helpers/config.js";
import { startNats, startRedis, type RunningServer } from "../helpers/servers.js";
import echoModule from "../../modules/echo/index.js";

describe("instance discovery over the NATS services API", () => {
  let nats: RunningServer;
  let redis: RunningServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    nc = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await nc?.close();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("answers an empty list when nothing runs, then lists instances with version, pid and load", async () => {
    expect(await listInstances(nc, 300)).toEqual([]);
    const host = await startModule({ definition: echoModule, config: testConfig(nats.url, redis.url), instanceId: "echo-disc" });
    try {
      const list = await listInstances(nc, 300);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ kind: "module", module: "echo", instance: "echo-disc", version: "1.0.0", pid: process.pid, state: "ready", served: 0 });
    } finally {
      await host.drain();
    }
  });
});
