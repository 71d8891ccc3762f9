import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isListening } from "../../src/process/ports.js";
import { BIN, ROOT, alive, ctlStatus, defineModuleUrl, startCli, until, type CliProcess } from "../helpers/ops.js";
import { freePort } from "../helpers/servers.js";

const root = ROOT;
const bin = BIN;
const run = promisify(execFile);

function startMaster(configPath: string): CliProcess {
  return startCli(["start", "--config", configPath]);
}

describe("switchyard start (master)", () => {
  let dir: string;
  const seenPids = new Set<number>();

  beforeAll(() => {
    if (!existsSync(join(root, "dist", "src", "cli", "main.js")) || !existsSync(join(root, "dist", "modules", "echo", "index.js"))) {
      throw new Error("the build is missing: run `npm run build` (npm test runs it through pretest)");
    }
    dir = mkdtempSync(join(tmpdir(), "sy-master-"));
  });

  afterAll(() => {
    // Whatever a failed assertion left behind.
    for (const pid of seenPids) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  async function writeConfig(name: string, extra: Record<string, unknown>): Promise<{ path: string; natsPort: number; redisPort: number }> {
    const [natsPort, redisPort] = [await freePort(), await freePort()];
    const path = join(dir, `${name}.json`);
    const cfg = {
      nats: { url: `nats://127.0.0.1:${natsPort}`, embedded: true },
      redis: { url: `redis://127.0.0.1:${redisPort}`, embedded: true },
      runtimeDir: join(dir, `${name}-run`),
      log: { level: "warn" },
      ...extra,
      master: { httpPort: 0, ...(extra.master as Record<string, unknown> | undefined) },
    };
    writeFileSync(path, JSON.stringify(cfg));
    return { path, natsPort, redisPort };
  }

  it("starts servers and processes, restarts a killed one, and stops everything on SIGINT", async () => {
    const gwPort = await freePort();
    const { path, natsPort, redisPort } = await writeConfig("cluster", {
      gateways: [{ id: "gw-1", host: "127.0.0.1", port: gwPort }],
      modules: { echo: { instances: 2 } },
      master: { restartBackoffMinMs: 100, restartBackoffMaxMs: 1_000 },
    });
    const master = startMaster(path);
    if (master.proc.pid) seenPids.add(master.proc.pid);

    const ready = await master.waitLine(/^switchyard ready:/, 30_000);
    expect(ready).toBe(`switchyard ready: gateway gw-1 at 127.0.0.1:${gwPort} (3 instances)`);
    expect(await isListening("127.0.0.1", gwPort)).toBe(true);
    expect(master.lines.filter((l) => l.startsWith("switchyard ready")).length).toBe(1);

    const status = await ctlStatus(path);
    expect(status.master?.pid).toBe(master.proc.pid);
    expect(status.master?.embedded.map((s) => s.name).sort()).toEqual(["nats-server", "redis-server"]);
    for (const s of status.master!.embedded) seenPids.add(s.pid);
    expect(status.instances.map((r) => r.module).sort()).toEqual(["echo", "echo", "gateway"]);
    for (const row of status.instances) {
      expect(row).toMatchObject({ state: "ready", supervised: true, answering: true, restarts: 0 });
      seenPids.add(row.pid!);
    }

    // kill -9 one module instance: the master starts a new one in its slot
    const victim = status.instances.find((r) => r.module === "echo")!;
    process.kill(victim.pid!, "SIGKILL");
    const after = await until("the killed instance to be replaced", 15_000, async () => {
      const s = await ctlStatus(path);
      const echo = s.instances.filter((r) => r.module === "echo");
      return echo.length === 2 && echo.every((r) => r.state === "ready" && r.instance !== victim.instance) && s.master!.processes.some((p) => p.restarts === 1)
        ? s
        : undefined;
    });
    for (const row of after.instances) seenPids.add(row.pid!);

    // scale up (the master answers once the new instance is ready), then down (drained)
    const up = await run(process.execPath, [bin, "ctl", "scale", "echo", "3", "--config", path], { timeout: 20_000 });
    expect(up.stdout).toMatch(/^echo: 2 -> 3 instances \(\+echo\/2\)$/m);
    const three = (await ctlStatus(path)).master!.processes;
    expect(three.filter((p) => p.module === "echo" && p.state === "ready")).toHaveLength(3);
    for (const p of three) if (p.pid) seenPids.add(p.pid);
    const down = await run(process.execPath, [bin, "ctl", "scale", "echo", "1", "--config", path], { timeout: 20_000 });
    expect(down.stdout).toMatch(/^echo: 3 -> 1 instances \(-echo\/2 -echo\/1\)$/m);
    const one = await ctlStatus(path);
    expect(one.master!.processes.map((p) => p.key)).toEqual(["gateway/gw-1", "echo/0"]);

    master.proc.kill("SIGINT");
    expect(await master.exited).toBe(0);
    for (const pid of seenPids) expect(alive(pid), `pid ${pid} still alive`).toBe(false);
    expect(await isListening("127.0.0.1", natsPort)).toBe(false);
    expect(await isListening("127.0.0.1", redisPort)).toBe(false);
    expect(await isListening("127.0.0.1", gwPort)).toBe(false);
  }, 60_000);

  it("exits non-zero with a clear message when a process never becomes ready, and leaves nothing behind", async () => {
    // A module whose onStart always fails: every start crashes.
    const entry = join(dir, "failing.js");
    writeFileSync(
      entry,
      `import { defineModule } from ${JSON.stringify(defineModuleUrl())};\n` +
        `export default defineModule({ name: "nosuch" }, { version: "1.0.0", onStart() { throw new Error("boom"); }, handlers: {} });\n`,
    );
    const { path, natsPort, redisPort } = await writeConfig("broken", {
      gateways: [],
      modules: { nosuch: { instances: 1, entry } },
      master: { restartBackoffMinMs: 50, restartBackoffMaxMs: 200, crashLoopCount: 2, readyTimeoutMs: 2_500 },
    });
    const master = startMaster(path);
    if (master.proc.pid) seenPids.add(master.proc.pid);
    expect(await master.exited).toBe(1);
    const stderr = master.stderr.join("");
    expect(stderr).toContain("the cluster did not become ready");
    // How many crashes fit in the timeout depends on the machine's load; crash-loop marking is unit-tested.
    expect(stderr).toMatch(/nosuch\/0 \(nosuch-[0-9a-f]{4}\) is (crash-looping|starting|backoff), [1-9]\d* restarts, last exit code 1/);
    expect(master.lines.some((l) => l.startsWith("switchyard ready"))).toBe(false);
    expect(await isListening("127.0.0.1", natsPort)).toBe(false);
    expect(await isListening("127.0.0.1", redisPort)).toBe(false);
  }, 30_000);

  it("refuses at once, before starting anything, a module whose code does not exist", async () => {
    const { path, natsPort } = await writeConfig("missing", { gateways: [], modules: { nosuch: { instances: 1 } } });
    const master = startMaster(path);
    if (master.proc.pid) seenPids.add(master.proc.pid);
    expect(await master.exited).toBe(1);
    expect(master.stderr.join("")).toMatch(/nothing was started:\n {2}module nosuch: no code at .*dist\/modules\/nosuch\/index\.js/);
    expect(await isListening("127.0.0.1", natsPort)).toBe(false);
  }, 30_000);
});

describe("switchyard ctl", () => {
  it("says clearly that NATS is unreachable, without hanging", async () => {
    const port = await freePort();
    // the 10 s limit on the child is the hang guard: a hanging ctl is killed and has no exit code 1
    const err = await run(process.execPath, [bin, "ctl", "status", "--nats", `nats://127.0.0.1:${port}`], { timeout: 10_000 }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain(`cannot reach NATS at nats://127.0.0.1:${port}: is the cluster running? start it with \`npm start\``);
  });
});
