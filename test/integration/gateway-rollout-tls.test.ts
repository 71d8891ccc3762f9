import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Client } from "../../src/client/index.js";
import type { LoadUser } from "../../bench/lib/move-load.js";
import { ctlStatus, startOpsCluster, stopOpsCluster, type CliProcess } from "../helpers/ops.js";
import { expectClean, rolloutUnderLoad } from "../helpers/move-outcome.js";
import { freePort } from "../helpers/servers.js";
import { TEST_MAX_CONNECTIONS_PER_ADDRESS } from "../helpers/config.js";

const RECONNECT = { minDelayMs: 50, maxDelayMs: 300, maxAttempts: 100, windowMs: 20_000 };

describe("ctl rollout gateway of a TLS gateway (TCP with TLS and wss) under load", () => {
  let certDir: string;
  let dir: string;
  let master: CliProcess;
  let config: string;
  let ca: Buffer;
  let port: number;
  let wsPort: number;
  const pids = new Set<number>();
  const clients: Client[] = [];
  const users: LoadUser[] = [];

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), "sy-rollout-tls-cert-"));
    const cert = join(certDir, "cert.pem");
    const key = join(certDir, "key.pem");
    // A self-signed certificate valid for localhost and 127.0.0.1, for a day.
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
    ca = readFileSync(cert);
    [port, wsPort] = [await freePort(), await freePort()];
    const ops = await startOpsCluster(
      "sy-rollout-tls-",
      {
        gateways: [{ id: "gw-1", host: "127.0.0.1", port, wsPort, tls: { certFile: cert, keyFile: key } }],
        gateway: { rateLimit: { perSecond: 100_000, burst: 100_000 }, requestTimeoutMs: 5_000, maxConnectionsPerAddress: TEST_MAX_CONNECTIONS_PER_ADDRESS, handoverTimeoutMs: 10_000 },
        modules: {
          login: { instances: 1, settings: { scryptN: 1024 } },
          echo: { instances: 1, ordered: false },
          chat: { instances: 1, settings: { maxMessagesPerWindow: 1_000_000, rateWindowSeconds: 1 } },
        },
      },
      pids,
    );
    ({ dir, master, config } = ops);
    // 7 SDK clients over TLS, one of them over wss
    for (let i = 0; i < 7; i++) {
      const where = i === 1 ? { url: `wss://127.0.0.1:${wsPort}/ws` } : { host: "127.0.0.1", port };
      const c = await connect({ ...where, tls: { ca }, heartbeatMs: 0, requestTimeoutMs: 15_000, reconnect: RECONNECT });
      clients.push(c);
      const username = `tls-mover${i}`;
      const { uid } = await c.request("login.Register", { username, password: "password-1" });
      await c.request("login.Login", { username, password: "password-1" });
      users.push({ client: c, uid });
    }
  });

  afterAll(async () => {
    await stopOpsCluster({ dir, master, pids, clients });
    rmSync(certDir, { recursive: true, force: true });
  });

  it("the replacement serves TLS on the same ports: 0 failed requests, 0 missing or duplicated pushes", async () => {
    const { res, out } = await rolloutUnderLoad(config, users, "tls-roll");
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    console.log(res.stdout.trim());
    expect(res.stdout).toMatch(new RegExp(`  gw-1 -> gw-1-[0-9a-f]{4} on 127\\.0\\.0\\.1:${port}: \\d+ sessions? moved`));
    expectClean("TLS rollout", out);
    for (const p of out.players) expect(p.reconnects).toBeGreaterThanOrEqual(1);

    const gateways = (await ctlStatus(config)).instances.filter((r) => r.module === "gateway");
    expect(gateways.map((r) => r.instance)).toEqual([expect.stringMatching(/^gw-1-[0-9a-f]{4}$/)]);
    // a new client reaches the replacement over TLS, and plain TCP is not served there
    const fresh = await connect({ host: "127.0.0.1", port, tls: { ca }, heartbeatMs: 0, reconnect: false });
    clients.push(fresh);
    await fresh.request("login.Register", { username: "tls-fresh", password: "password-1" });
    await fresh.request("login.Login", { username: "tls-fresh", password: "password-1" });
    expect(await fresh.request("echo.Echo", { text: "after" })).toMatchObject({ text: "after" });
    await expect(connect({ host: "127.0.0.1", port, heartbeatMs: 0, timeoutMs: 2_000, reconnect: false }).then((c) => c.request("echo.Echo", { text: "plain" }))).rejects.toBeDefined();
  }, 90_000);
});
