import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsAuthError, type NatsSettings } from "../../src/bus/connection.js";
import { connect as connectClient, type Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG, projectRoot, type ClusterConfig } from "../../src/config/cluster-config.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { startModule, type ModuleHost } from "../../src/module/index.js";
import { testConfig } from "../helpers/config.js";
import { startNats, type RunningServer } from "../helpers/servers.js";
import echoModule from "../../modules/echo/index.js";
import { until } from "../helpers/ops.js";

const bin = join(projectRoot(), "bin", "switchyard.js");
const level = process.env.SWITCHYARD_TEST_LOG ?? "silent";
/** No Redis here: echo never touches it. */
const NO_REDIS = "redis://127.0.0.1:1";

describe("NATS credentials and TLS, client TLS (real nats-server)", () => {
  let dir: string;
  let cert: string;
  let key: string;
  const servers: RunningServer[] = [];
  const gateways: Gateway[] = [];
  const modules: ModuleHost[] = [];
  const clients: Client[] = [];
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sy-tls-"));
    cert = join(dir, "cert.pem");
    key = join(dir, "key.pem");
    // A self-signed certificate valid for localhost and 127.0.0.1, for a day.
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert,
    ], { stdio: "ignore" });
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(modules.map((m) => m.drain()));
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function nats(args: string[]): Promise<RunningServer> {
    const s = await startNats(args);
    servers.push(s);
    return s;
  }

  async function gateway(id: string, natsSettings: NatsSettings, tls?: { certFile: string; keyFile: string }): Promise<Gateway> {
    const gw = await createGateway({
      id,
      port: 0,
      settings: { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo"] },
      nats: natsSettings,
      logger: createLogger("gateway", id, level),
      announce: false,
      ...(tls ? { tls } : {}),
    });
    gateways.push(gw);
    return gw;
  }

  async function echo(config: ClusterConfig): Promise<ModuleHost> {
    const m = await startModule({ definition: echoModule, config, log: createLogger("echo", "echo", level) });
    modules.push(m);
    return m;
  }

  async function client(gw: Gateway, tls?: object): Promise<Client> {
    const c = await connectClient({ ...gw.address(), heartbeatMs: 0, ...(tls ? { tls } : {}) });
    clients.push(c);
    return c;
  }

  /** Runs a switchyard command until it prints `text` (resolves "seen") or exits (resolves the exit code). */
  function run(args: string[], text: string): Promise<{ outcome: "seen" | number | null; output: string }> {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    return new Promise((resolve) => {
      const onData = (d: Buffer): void => {
        output += d.toString();
        if (output.includes(text)) resolve({ outcome: "seen", output });
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => resolve({ outcome: code, output }));
    });
  }

  it("user/password: gateway and module connect with them (also from a config file), and fail clearly without", async () => {
    const server = await nats(["--user", "sy", "--pass", "s3cret"]);
    const good: NatsSettings = { url: server.url, user: "sy", pass: "s3cret" };
    const config = testConfig(server.url, NO_REDIS);
    config.nats = { ...config.nats, ...good };
    const gw = await gateway("gw-userpass", good);
    await echo(config);
    const c = await client(gw);
    expect((await c.request("echo.Echo", { text: "with credentials" })).text).toBe("with credentials");

    // Without credentials, and with a wrong password: a NatsAuthError naming the settings to fix.
    await expect(gateway("gw-nocreds", { url: server.url })).rejects.toBeInstanceOf(NatsAuthError);
    await expect(gateway("gw-badpass", { url: server.url, user: "sy", pass: "wrong" })).rejects.toThrow(/refused the credentials.*nats\.user and nats\.pass, or nats\.token/);
    await expect(startModule({ definition: echoModule, config: testConfig(server.url, NO_REDIS), log: createLogger("echo", "x", level) })).rejects.toBeInstanceOf(NatsAuthError);

    // Processes get the credentials from the config file (the master hands every child its path).
    const withCreds = join(dir, "with-creds.json");
    writeFileSync(withCreds, JSON.stringify({ ...config, log: { level: "info" } }));
    const moduleProc = await run(["module", "echo", "--config", withCreds, "--instance", "echo-proc"], "module ready");
    expect(moduleProc.outcome).toBe("seen");
    // A session keeps to the instance that answered it while it is busy (ordered lanes), so poll
    // slower than that affinity lasts: each request is placed anew through the queue group.
    await until("a reply from the module process", 10_000, async () => ((await c.request("echo.Echo", { text: "x" })).servedBy === "echo-proc" ? true : undefined));
    const noCreds = join(dir, "no-creds.json");
    writeFileSync(noCreds, JSON.stringify({ ...config, nats: { url: server.url, embedded: false } }));
    const gwProc = await run(["gateway", "--config", noCreds, "--id", "gw-1"], "\u0000never");
    expect(gwProc.outcome).toBe(1);
    expect(gwProc.output).toMatch(/refused the credentials/);
  });

  it("token: accepted when it matches, refused clearly when it does not", async () => {
    const server = await nats(["--auth", "tok-123"]);
    const gw = await gateway("gw-token", { url: server.url, token: "tok-123" });
    expect(gw.state).toBe("ready");
    await expect(gateway("gw-badtoken", { url: server.url, token: "nope" })).rejects.toBeInstanceOf(NatsAuthError);
  });

  it("TLS to NATS: gateway and module connect with nats.tls.caFile and traffic flows", async () => {
    const server = await nats(["--tls", "--tlscert", cert, "--tlskey", key]);
    const tls: NatsSettings = { url: server.url, tls: { caFile: cert } };
    const config = testConfig(server.url, NO_REDIS);
    config.nats = { ...config.nats, ...tls };
    const gw = await gateway("gw-natstls", tls);
    await echo(config);
    const c = await client(gw);
    expect((await c.request("echo.Echo", { text: "over tls" })).text).toBe("over tls");
  });

  it("client TLS: the SDK connects with tls, plain TCP and unknown certificates are refused", async () => {
    const server = await nats([]);
    const config = testConfig(server.url, NO_REDIS);
    const gw = await gateway("gw-clienttls", { url: server.url }, { certFile: cert, keyFile: key });
    await echo(config);
    const c = await client(gw, { ca: readFileSync(cert) });
    expect((await c.request("echo.Echo", { text: "secret" })).text).toBe("secret");
    // Without our CA, the self-signed certificate is rejected by the client.
    await expect(client(gw, {})).rejects.toMatchObject({ code: "UNAVAILABLE", message: expect.stringMatching(/TLS handshake failed/) });
    // A plain-TCP client never gets a session: the connection closes during the handshake.
    const plain = await connectClient({ ...gw.address(), heartbeatMs: 0 });
    clients.push(plain);
    await expect(plain.request("echo.Echo", { text: "plain" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(gw.sessionCount).toBe(1);
  });
});
