import { readFileSync, statSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { join } from "node:path";
import { connect as connectNats, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { requestMaster } from "../../src/master/ctl-client.js";
import type { MasterStatus } from "../../src/master/status.js";
import { ctlStatus, loggedIn, startOpsCluster, stopOpsCluster, type CliProcess } from "../helpers/ops.js";
import { freePort } from "../helpers/servers.js";

/** What a route listener answers to a route CONNECT without credentials (first line after its INFO). */
function routeConnectWithoutCredentials(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: "127.0.0.1", port });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      const hadInfo = text.includes("\r\n");
      text += chunk;
      if (!hadInfo && text.includes("\r\n")) socket.write('CONNECT {"verbose":false,"pedantic":false,"name":"intruder"}\r\nPING\r\n');
      const lines = text.split("\r\n");
      if (lines.length > 2) {
        socket.destroy();
        resolve(lines[1]!);
      }
    });
    socket.on("close", () => resolve(text.split("\r\n")[1] ?? ""));
    socket.on("error", reject);
  });
}

describe("embedded NATS cluster: nats.servers with 3 URLs starts 3 routed nats-servers, locked down", () => {
  let dir: string | undefined;
  let master: CliProcess | undefined;
  let config: string;
  let gwPort: number;
  let runtimeDir: string;
  let clientPorts: number[];
  let routePorts: number[];
  const pids = new Set<number>();
  const clients: Client[] = [];
  const conns: NatsConnection[] = [];

  beforeAll(async () => {
    clientPorts = [await freePort(), await freePort(), await freePort()];
    routePorts = [await freePort(), await freePort(), await freePort()];
    const ops = await startOpsCluster(
      "sy-nats-embedded-cluster-",
      {
        nats: { servers: clientPorts.map((p) => `nats://127.0.0.1:${p}`), routePorts, embedded: true },
        modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 2, ordered: false } },
      },
      pids,
    );
    ({ dir, master, config, gwPort } = ops);
    runtimeDir = (JSON.parse(readFileSync(config, "utf8")) as { runtimeDir: string }).runtimeDir;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(conns.map((c) => c.close()));
    await stopOpsCluster({ dir, master, pids, clients });
  });

  /** A NATS connection to one node only, as `role` (its generated credentials file). */
  async function onNode(port: number, role: string): Promise<NatsConnection> {
    const creds = JSON.parse(readFileSync(join(runtimeDir, `credentials-${clientPorts[0]}`, `${role}.json`), "utf8")) as { nats: { user: string; pass: string } };
    const nc = await connectNats({ servers: `127.0.0.1:${port}`, user: creds.nats.user, pass: creds.nats.pass, name: "cluster-probe" });
    conns.push(nc);
    return nc;
  }

  it("the master runs 3 nats-servers (one per URL) and redis; the cluster serves through the gateway", async () => {
    const status = await ctlStatus(config);
    const embedded = status.master!.embedded;
    expect(embedded.filter((s) => s.name === "nats-server").map((s) => s.address).sort()).toEqual(clientPorts.map((p) => `127.0.0.1:${p}`).sort());
    expect(embedded.filter((s) => s.name === "redis-server")).toHaveLength(1);
    const c = await loggedIn(gwPort, "cluster-user");
    clients.push(c);
    expect((await c.request("echo.Echo", { text: "across nodes" })).text).toBe("across nodes");
  });

  it("every node reaches the master through the routes (a ctl connection to each node alone gets the status)", async () => {
    for (const port of clientPorts) {
      const nc = await onNode(port, "ctl");
      const status = await requestMaster<MasterStatus>(nc, "status");
      expect(status?.pid).toBe(master!.proc.pid);
    }
  });

  it("client ports refuse a connection without credentials; route ports refuse a route without the route user", async () => {
    for (const port of clientPorts) {
      await expect(connectNats({ servers: `127.0.0.1:${port}`, reconnect: false })).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
    }
    for (const port of routePorts) expect(await routeConnectWithoutCredentials(port)).toBe("-ERR 'Authorization Violation'");
  });

  it("each node's config (0600) holds its route listener and the routes to the two others", () => {
    for (const [i, port] of clientPorts.entries()) {
      const file = join(runtimeDir, "run", `nats-server-${port}.conf`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, "utf8");
      expect(text).toContain(`  port: ${routePorts[i]}`);
      for (const [j, other] of routePorts.entries()) {
        if (j === i) continue;
        expect(text).toMatch(new RegExp(`nats-route://route:[0-9a-f]{48}@127\\.0\\.0\\.1:${other}`));
      }
    }
  });
});
