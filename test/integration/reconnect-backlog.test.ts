import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { DropProxy } from "../helpers/drop-proxy.js";
import { until } from "../helpers/ops.js";
import echoModule from "../../modules/echo/index.js";
import loginModule from "../../modules/login/index.js";

const MAX_IN_FLIGHT = 4;
const RECONNECT = { minDelayMs: 30, maxDelayMs: 100, maxAttempts: 1_000, windowMs: 20_000 };

describe(`requests issued while reconnecting, against gateway.maxInFlightPerSession ${MAX_IN_FLIGHT}`, () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 1 },
        { def: echoModule, instances: 1 },
      ],
      config: {
        gateway: { ...DEFAULT_CONFIG.gateway, maxInFlightPerSession: MAX_IN_FLIGHT },
        modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1, ordered: false } },
      },
    });
  });

  afterAll(() => cluster?.stop());

  /** Logs in through a proxy, drops the link, issues 12 slow requests while the client reconnects, lets it back in; what each request ended with. */
  async function burstWhileAway(name: string, maxInFlight: number): Promise<string[]> {
    const proxy = await DropProxy.start(cluster.gateways[0]!.address());
    const client = await cluster.client(0, { host: "127.0.0.1", port: proxy.port, reconnect: RECONNECT, maxInFlight });
    try {
      await client.request("login.Register", { username: name, password: "password-1" });
      await client.request("login.Login", { username: name, password: "password-1" });
      let away = false;
      client.onDisconnect(() => (away = true));
      proxy.refusing = true;
      proxy.drop();
      await until("the client noticed the drop", 5_000, async () => away || undefined);
      const burst = Array.from({ length: 12 }, (_, i) =>
        client.request("echo.Sleep", { ms: 100 }).then(
          () => "ok",
          (err: { code?: string }) => `${i}: ${err.code ?? String(err)}`,
        ),
      );
      proxy.refusing = false;
      return await Promise.all(burst);
    } finally {
      await client.close();
      await proxy.stop();
    }
  }

  it("with maxInFlight set to the gateway's limit, the SDK sends them as replies come back: every one succeeds", async () => {
    expect(await burstWhileAway("backlog-paced", MAX_IN_FLIGHT)).toEqual(Array(12).fill("ok"));
  });

  it("with maxInFlight above it, the requests past the gateway's limit are refused RATE_LIMITED (what the pacing avoids)", async () => {
    const outcomes = await burstWhileAway("backlog-unpaced", 64);
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(MAX_IN_FLIGHT);
    expect(outcomes.filter((o) => o.endsWith("RATE_LIMITED"))).toHaveLength(12 - MAX_IN_FLIGHT);
  });
});
