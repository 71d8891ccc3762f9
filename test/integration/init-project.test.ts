import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connect, type Client } from "../../src/client/index.js";
import { frameworkRoot } from "../../src/config/cluster-config.js";
import { freePort } from "../../src/process/ports.js";

// The studio's path, outside this repository: pack the framework, `switchyard init`, install the
// tarball, the project's own `npm test`, then its cluster serving greeter.Greet and its push.

const root = frameworkRoot();
let work: string;
let project: string;
let master: ChildProcess | undefined;
const clients: Client[] = [];

interface Run {
  code: number | null;
  output: string;
}

/** The environment of a command run as a user would: nothing of this npm/vitest run leaks in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|SWITCHYARD_)/i.test(k) || k === "NODE_ENV" || k === "INIT_CWD") continue;
    env[k] = v;
  }
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** Starts the project's cluster with its own bin and resolves once it prints its ready line. */
function startProject(configPath: string): Promise<ChildProcess> {
  const bin = join(project, "node_modules", "switchyard", "bin", "switchyard.js");
  const child = spawn(process.execPath, [bin, "start", "--config", configPath], { cwd: project, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (output.includes("switchyard ready")) resolve(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    child.once("exit", (code) => reject(new Error(`switchyard start exited with ${code} before it was ready:\n${output.slice(-3000)}`)));
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "sy-init-"));
  project = join(work, "studio-game");
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  const m = master;
  if (m && m.exitCode === null && m.signalCode === null) {
    const exited = new Promise((r) => m.once("exit", r));
    m.kill("SIGINT");
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("a project made by `switchyard init` from the packed framework", () => {
  let tarball: string;

  test("npm pack gives a tarball without tests or benches", async () => {
    const packed = await run("npm", ["pack", "--pack-destination", work, "--json", "--loglevel=error"], root);
    expect(packed.code, packed.output).toBe(0);
    const [info] = JSON.parse(packed.output.slice(packed.output.indexOf("["))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    const paths = info!.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(["bin/switchyard.js", "proto/wire.proto", "scripts/setup.sh", "dist/src/index.d.ts", "dist/src/testing/index.js", "dist/modules/login/index.js", "templates/project/gitignore"]));
    expect(paths.filter((p) => p.startsWith("test/") || p.startsWith("bench/") || p.startsWith("dist/bench/") || p.startsWith("src/"))).toEqual([]);
  }, 60_000);

  test("init writes the project, npm install installs the tarball", async () => {
    const init = await run(process.execPath, [join(root, "bin", "switchyard.js"), "init", project, "--switchyard", `file:${tarball}`], work);
    expect(init.code, init.output).toBe(0);
    expect(readdirSync(project).sort()).toEqual([".gitignore", "README.md", "config", "modules", "package.json", "proto", "test", "tsconfig.json"]);
    expect(existsSync(join(project, "modules", "greeter", "index.ts"))).toBe(true);
    const install = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], project);
    expect(install.code, install.output).toBe(0);
    expect(existsSync(join(project, "node_modules", "switchyard", "dist", "modules", "game", "index.js"))).toBe(true);
  }, 120_000);

  test("the project's own npm test passes (it generates its types and builds first)", async () => {
    const tested = await run("npm", ["test"], project);
    expect(tested.code, tested.output.slice(-4000)).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(tested.output.replace(/\x1b\[[0-9;]*m/g, "")).toMatch(/Tests\s+2 passed/);
    expect(existsSync(join(project, "dist", "modules", "greeter", "index.js"))).toBe(true);
  }, 180_000);

  test("its cluster serves greeter.Greet through a gateway and pushes greeter.Greeted", async () => {
    const cfg = JSON.parse(readFileSync(join(project, "config", "cluster.json"), "utf8")) as Record<string, unknown> & { gateways: { port: number; wsPort?: number }[] };
    const [natsPort, redisPort, gatewayPort, wsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    cfg.nats = { url: `nats://127.0.0.1:${natsPort}`, embedded: true };
    cfg.redis = { url: `redis://127.0.0.1:${redisPort}`, embedded: true };
    cfg.gateways[0]!.port = gatewayPort;
    if (cfg.gateways[0]!.wsPort !== undefined) cfg.gateways[0]!.wsPort = wsPort;
    // free ports only: never the defaults a running cluster on this host may hold
    cfg.master = { ...(cfg.master as Record<string, unknown> | undefined), httpPort: 0 };
    if (cfg.web !== undefined && cfg.web !== null) cfg.web = { port: 0 };
    cfg.runtimeDir = join(work, "run");
    cfg.log = { level: "warn" };
    const configPath = join(work, "cluster.json");
    writeFileSync(configPath, JSON.stringify(cfg));
    master = await startProject(configPath);

    const client = await connect({ port: gatewayPort, protoDir: join(project, "proto"), heartbeatMs: 0 });
    clients.push(client);
    await client.request("login.Register", { username: "ann", password: "password-1" });
    const { uid } = await client.request("login.Login", { username: "ann", password: "password-1" });
    const pushed = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no greeter.Greeted push within 10 s")), 10_000);
      client.on("greeter.Greeted", (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
    const reply = await client.requestRaw("greeter.Greet", client.registry.message("greeter.GreetRequest").encode({ name: "Ann" }));
    const text = `Hello, Ann (from ${uid})`;
    expect(client.registry.message("greeter.GreetReply").decode(reply)).toMatchObject({ text, count: 1 });
    expect(await pushed).toMatchObject({ text, count: 1 });
  }, 60_000);
});
