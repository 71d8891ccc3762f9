import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Client } from "../../src/client/index.js";
import { ctl, ctlStatus, startOpsCluster, stopOpsCluster, type CliProcess } from "../helpers/ops.js";

const PRELOAD = join(import.meta.dirname, "..", "helpers", "failing-replacement.cjs");

describe("ctl rollout gateway whose replacement fails after taking the ports", () => {
  let dir: string;
  let master: CliProcess;
  let config: string;
  let gwPort: number;
  const pids = new Set<number>();
  const clients: Client[] = [];

  beforeAll(async () => {
    const ops = await startOpsCluster(
      "sy-gw-rollout-failed-",
      {
        // the replacement is given 2 × 3 s to become ready
        master: { readyTimeoutMs: 3_000 },
        modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1 } },
      },
      pids,
      { NODE_OPTIONS: `--require ${PRELOAD}` },
    );
    ({ dir, master, config, gwPort } = ops);
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients }));

  const client = async (): Promise<Client> => {
    const c = await connect({ host: "127.0.0.1", port: gwPort, heartbeatMs: 0, requestTimeoutMs: 5_000 });
    clients.push(c);
    return c;
  };

  it("stops, naming the replacement and its exit code; the old gateway keeps its sessions and accepts new connections on its port", async () => {
    const before = await client();
    await before.request("login.Register", { username: "stays", password: "password-1" });
    await before.request("login.Login", { username: "stays", password: "password-1" });

    const res = await ctl(config, ["rollout", "gateway"], 60_000);
    console.log(res.stderr.trim());
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^switchyard ctl: rollout gateway: the replacement gw-1-[0-9a-f]{4} of gw-1 did not become ready: not ready after 6000 ms: .*last exit code 3/);
    expect(res.stderr).toContain("Rollout stopped after 0 of 1 gateways; gw-1 still holds its sessions and listens on its ports again.");

    // the session from before the rollout is served as before
    expect(await before.request("echo.Echo", { text: "still here" })).toMatchObject({ text: "still here" });
    // and a new client reaches the same gateway on the same port
    const after = await client();
    await after.request("login.Register", { username: "arrives", password: "password-1" });
    await after.request("login.Login", { username: "arrives", password: "password-1" });
    expect(await after.request("echo.Echo", { text: "new here" })).toMatchObject({ text: "new here" });

    const gateways = (await ctlStatus(config)).instances.filter((r) => r.module === "gateway");
    expect(gateways.map((r) => [r.instance, r.state])).toEqual([["gw-1", "ready"]]);
  }, 90_000);
});
