import { afterAll, describe, expect, it } from "vitest";
import { connect, type Client } from "../../src/client/index.js";
import { startOpsCluster, stopOpsCluster, type OpsCluster } from "../helpers/ops.js";
import { gateNames } from "../helpers/gate.js";
import { freePort } from "../helpers/servers.js";

describe("the master serves the web demo when the config has web (switchyard start)", () => {
  const pids = new Set<number>();
  let ops: OpsCluster | undefined;
  let client: Client | undefined;
  afterAll(() => stopOpsCluster({ dir: ops?.dir, master: ops?.master, pids, clients: [client] }));

  it("prints its URL after the ready line, serves the page and a /config.json whose gate leads to a working gateway, and stops with the cluster", async () => {
    const [gwPort, wsPort, webPort] = [await freePort(), await freePort(), await freePort()];
    ops = await startOpsCluster(
      "sy-web-",
      { gateways: [{ id: "gw-1", host: "127.0.0.1", port: gwPort, wsPort }], web: { port: webPort }, modules: { login: { instances: 1 } } },
      pids,
    );
    const url = `http://127.0.0.1:${webPort}/`;
    expect(await ops.master.waitLine(/^switchyard: web demo at /, 10_000)).toBe(`switchyard: web demo at ${url}`);

    const page = await fetch(url);
    expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
    const bundle = await fetch(new URL("switchyard-client.js", url));
    expect([bundle.status, bundle.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    const config = (await (await fetch(new URL("config.json", url))).json()) as { gate: string };
    expect(config).toEqual({ gate: `http://127.0.0.1:${wsPort}/gate` });

    // The page's way in, from Node: the gate names the gateway's WebSocket URL, which serves a session.
    await gateNames(config.gate, "gw-1");
    client = await connect({ gate: config.gate, transport: "ws", heartbeatMs: 0 });
    expect(client.address).toBe(`ws://127.0.0.1:${wsPort}/ws`);
    expect((await client.request("login.Register", { username: "web-user", password: "password-1" })).uid).not.toBe("");

    await client.close();
    ops.master.proc.kill("SIGINT");
    await ops.master.exited;
    await expect(fetch(url)).rejects.toThrow();
  }, 60_000);
});
