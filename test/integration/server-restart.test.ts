import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SwitchyardError, type Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import echoModule from "../../modules/echo/index.js";
import loginModule from "../../modules/login/index.js";

/** What a load loop saw: successes, errors by code, and a sample message per code. */
interface LoadResult {
  ok: number;
  errors: Record<string, number>;
  messages: Record<string, string>;
  /** Successes in a row since the last error. */
  streak: number;
}

/**
 * Calls `call` from `workers` loops, each pausing between calls (staying under the rate limit),
 * until `stop()` says so. Every call is awaited: a request that never settles hangs the test.
 */
function load(call: (n: number) => Promise<unknown>, stop: () => boolean, workers = 4): { result: LoadResult; done: Promise<void> } {
  const result: LoadResult = { ok: 0, errors: {}, messages: {}, streak: 0 };
  let n = 0;
  const loop = async (): Promise<void> => {
    while (!stop()) {
      try {
        await call(n++);
        result.ok++;
        result.streak++;
      } catch (err) {
        if (!(err instanceof SwitchyardError)) throw err;
        result.errors[err.code] = (result.errors[err.code] ?? 0) + 1;
        result.messages[err.code] ??= err.message;
        result.streak = 0;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { result, done: Promise.all(Array.from({ length: workers }, loop)).then(() => undefined) };
}

/** Polls `cond` every 20 ms, up to `maxMs` (a safety bound, not a measured figure). */
async function until(cond: () => boolean, maxMs: number, what: string): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${maxMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("NATS and Redis restarted under load (real servers)", () => {
  let cluster: TestCluster;
  let client: Client;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: echoModule, instances: 1 },
        { def: loginModule, instances: 1 },
      ],
      config: { gateway: { ...DEFAULT_CONFIG.gateway, requestTimeoutMs: 1_000, publicRoutes: ["echo.Echo", "login.Register"] } },
    });
    // No client-side timeout: every request must be settled by the gateway itself.
    client = await cluster.client(0, { requestTimeoutMs: 0 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("NATS restart: gateway and module reconnect on their own; requests in the gap get TIMEOUT/UNAVAILABLE, none hangs", async () => {
    let stopping = false;
    const { result, done } = load((n) => client.request("echo.Echo", { text: `n${n}` }), () => stopping);
    await until(() => result.ok >= 40, 10_000, "40 answers before the restart");
    const before = result.ok;
    // Down until the gateway has answered some requests of the gap with an error, then back up.
    const restarted = cluster.nats.restart(1_500);
    await until(() => Object.keys(result.errors).length > 0, 10_000, "an error while NATS is down");
    await restarted;
    await until(() => result.streak >= 40, 30_000, "40 answers in a row after the restart");
    stopping = true;
    await done;
    console.log(`NATS restart: ${before} ok before, ${result.ok} ok in all, errors ${JSON.stringify(result.errors)}, e.g. ${JSON.stringify(result.messages)}`);

    expect(Object.keys(result.errors).every((code) => code === "TIMEOUT" || code === "UNAVAILABLE")).toBe(true);
    expect(client.isClosed).toBe(false);
    expect(cluster.gateways[0]!.state).toBe("ready");
    for (const m of cluster.modules) expect(m.state).toBe("ready");
  });

  it("Redis restart: login answers UNAVAILABLE (storage unreachable) while it is down and recovers after", async () => {
    let stopping = false;
    const { result, done } = load((n) => client.request("login.Register", { username: `redis-user-${n}`, password: "password-1" }), () => stopping, 2);
    await until(() => result.ok >= 10, 10_000, "10 registrations before the restart");
    const restarted = cluster.redis.restart(2_000);
    await until(() => (result.errors.UNAVAILABLE ?? 0) > 0, 10_000, "an UNAVAILABLE while Redis is down");
    await restarted;
    await until(() => result.streak >= 10, 30_000, "10 registrations in a row after the restart");
    stopping = true;
    await done;
    console.log(`Redis restart: ${result.ok} ok, errors ${JSON.stringify(result.errors)}, e.g. ${JSON.stringify(result.messages)}`);

    expect(Object.keys(result.errors)).toEqual(["UNAVAILABLE"]);
    expect(result.messages.UNAVAILABLE).toMatch(/storage \(Redis\) is unreachable/);
    expect(client.isClosed).toBe(false);
    for (const m of cluster.modules) expect(m.state).toBe("ready");
  });
});
