import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { connect as connectNats, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { loggedIn, ctlStatus, startCli, startOpsCluster, stopOpsCluster, writeOpsConfig, type CliProcess } from "../helpers/ops.js";

const run = promisify(execFile);

/** Mode bits (rwx for user/group/other) of a path. */
const mode = (path: string): number => statSync(path).mode & 0o777;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe("embedded cluster: locked down against other processes of the host", () => {
  let dir: string;
  let config: string;
  let gwPort: number;
  let natsPort: number;
  let redisPort: number;
  let runtimeDir: string;
  let master: CliProcess;
  const pids = new Set<number>();
  const clients: Client[] = [];
  const conns: NatsConnection[] = [];

  beforeAll(async () => {
    const ops = await startOpsCluster("sy-lockdown-", { modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1, ordered: false } } }, pids);
    ({ dir, config, gwPort, master } = ops);
    const cfg = JSON.parse(readFileSync(config, "utf8")) as { nats: { url: string }; redis: { url: string }; runtimeDir: string };
    natsPort = Number(new URL(cfg.nats.url).port);
    redisPort = Number(new URL(cfg.redis.url).port);
    runtimeDir = cfg.runtimeDir;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(conns.map((c) => c.close()));
    await stopOpsCluster({ dir, master, pids, clients });
  });

  /** A raw NATS client of this host, as the role whose credentials file it read. */
  async function as(role: string): Promise<NatsConnection> {
    const creds = JSON.parse(readFileSync(join(runtimeDir, `credentials-${natsPort}`, `${role}.json`), "utf8")) as { nats: { user: string; pass: string } };
    const nc = await connectNats({ servers: `127.0.0.1:${natsPort}`, user: creds.nats.user, pass: creds.nats.pass, name: "lockdown-probe" });
    conns.push(nc);
    return nc;
  }

  /** The error code a request on `subject` fails with ("answered" when something answered). */
  async function attempt(nc: NatsConnection, subject: string, body = "{}"): Promise<string> {
    try {
      await nc.request(subject, body, { timeout: 2_000 });
      return "answered";
    } catch (err) {
      return String((err as { code?: unknown }).code);
    }
  }

  it("refuses a NATS client without credentials", async () => {
    await expect(connectNats({ servers: `127.0.0.1:${natsPort}`, name: "lockdown-probe", reconnect: false })).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
  });

  it("a gateway's credentials cannot reach the master, bind a session or call module-only subjects", async () => {
    const gw = await as("gateway");
    expect(await attempt(gw, "sys.master.add", JSON.stringify({ module: "evil", from: "/tmp/evil.js" }))).toBe("PERMISSIONS_VIOLATION");
    expect(await attempt(gw, "sys.master.status")).toBe("PERMISSIONS_VIOLATION");
    expect(await attempt(gw, "gw.gw-1.bind")).toBe("PERMISSIONS_VIOLATION");
    expect(await attempt(gw, "mod.svc.login.Ban", "")).toBe("PERMISSIONS_VIOLATION");
    expect(await attempt(gw, "sys.instance.x.drain")).toBe("PERMISSIONS_VIOLATION");
  });

  it("a module's credentials cannot reach the master or bind a session; the auth module may bind", async () => {
    const mod = await as("module");
    expect(await attempt(mod, "sys.master.add", JSON.stringify({ module: "evil", from: "/tmp/evil.js" }))).toBe("PERMISSIONS_VIOLATION");
    expect(await attempt(mod, "sys.master.stop")).toBe("PERMISSIONS_VIOLATION");
    expect(await attempt(mod, "gw.gw-1.bind")).toBe("PERMISSIONS_VIOLATION");
    // control: what a module may do goes through (the gateway acks an empty command)
    expect(await attempt(mod, "gw.gw-1.cmd", "")).toBe("answered");
    const auth = await as("auth");
    expect(await attempt(auth, "gw.gw-1.bind", "")).toBe("answered");
    expect(await attempt(auth, "sys.master.status")).toBe("PERMISSIONS_VIOLATION");
    // control: the ctl role reaches the master
    expect(await attempt(await as("ctl"), "sys.master.status")).toBe("answered");
  });

  it("refuses redis-cli without the password (NOAUTH)", async () => {
    const { stdout } = await run("redis-cli", ["-p", String(redisPort), "GET", "anything"]);
    expect(stdout).toMatch(/NOAUTH/);
  });

  it("keeps the runtime folder 0700 and credentials, configs, logs and append-only files 0600", () => {
    expect(mode(runtimeDir)).toBe(0o700);
    const files = filesUnder(runtimeDir);
    expect(files.some((f) => f.endsWith(`credentials-${natsPort}/gateway.json`))).toBe(true);
    expect(files.some((f) => f.endsWith(`nats-server-${natsPort}.conf`))).toBe(true);
    expect(files.some((f) => f.includes(`redis-${redisPort}`) && f.includes("appendonly"))).toBe(true);
    for (const f of files) expect([f, mode(f)]).toEqual([f, 0o600]);
  });

  it("puts no credential on any command line of the cluster's processes", async () => {
    const secrets = JSON.parse(readFileSync(join(runtimeDir, `credentials-${natsPort}`, "secrets.json"), "utf8")) as { nats: Record<string, string>; natsRoute: string; redis: string };
    const values = [...Object.values(secrets.nats), secrets.natsRoute, secrets.redis];
    const status = await ctlStatus(config);
    const clusterPids = [status.master!.pid, ...status.master!.embedded.map((s) => s.pid), ...status.instances.map((r) => r.pid!)];
    expect(clusterPids.length).toBe(6); // master, nats-server, redis-server, gateway, login, echo
    for (const pid of clusterPids) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      for (const v of values) expect(cmdline.includes(v), `pid ${pid}: ${cmdline}`).toBe(false);
    }
  });

  it("still serves: ctl status on this host and a login through the gateway; no permission violation of its own", async () => {
    const status = await ctlStatus(config);
    expect(status.master).not.toBeNull();
    expect(status.instances.map((r) => r.module).sort()).toEqual(["echo", "gateway", "login"]);
    const c = await loggedIn(gwPort, "locked-user");
    clients.push(c);
    const me = await c.request("echo.WhoAmI", {});
    expect(me.uid).not.toBe("");
    // Every violation in the NATS server's log is one this test provoked on purpose.
    const log = readFileSync(join(runtimeDir, "logs", `nats-server-${natsPort}.log`), "utf8").split("\n");
    expect(log.filter((l) => /Violation/.test(l) && !l.includes("lockdown-probe"))).toEqual([]);
  });
});

describe("embedded cluster: a runtime folder others can reach is refused", () => {
  let dir: string;
  const masters: CliProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sy-lockdown-dir-"));
  });

  // A master that did not refuse (a broken build) started a whole cluster: stop it like Ctrl-C.
  afterAll(async () => {
    for (const m of masters) {
      if (m.proc.exitCode !== null) continue;
      m.proc.kill("SIGINT");
      await m.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function refusal(prepare: (runtimeDir: string) => void): Promise<{ code: number | null | "started"; stderr: string; runtimeDir: string }> {
    const cfg = await writeOpsConfig(dir, `c${readdirSync(dir).length}`, {});
    const runtimeDir = (JSON.parse(readFileSync(cfg.path, "utf8")) as { runtimeDir: string }).runtimeDir;
    mkdirSync(runtimeDir);
    prepare(runtimeDir);
    const master = startCli(["start", "--config", cfg.path]);
    masters.push(master);
    const code = await Promise.race([master.exited, master.waitLine(/^switchyard ready:/, 30_000).then(() => "started" as const, () => null)]);
    return { code, stderr: master.stderr.join(""), runtimeDir };
  }

  it("mode 0777: the master exits non-zero naming the folder", async () => {
    const r = await refusal((d) => chmodSync(d, 0o777));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`runtime folder ${r.runtimeDir} is open to other users (mode 777)`);
  });

  it.skipIf(process.getuid?.() !== 0)("owned by another user (chown nobody): the master exits non-zero naming the folder", async () => {
    const r = await refusal((d) => {
      chmodSync(d, 0o700);
      chownSync(d, 65534, 65534);
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`runtime folder ${r.runtimeDir} belongs to uid 65534, not to you`);
  });
});
