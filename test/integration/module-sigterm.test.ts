import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "nats";
import { instanceControlSubject } from "../../src/bus/discovery.js";
import { projectRoot } from "../../src/config/cluster-config.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import loginModule from "../../modules/login/index.js";
import { waitForOutput } from "../helpers/child-output.js";

const root = projectRoot();
const bin = join(root, "bin", "switchyard.js");


describe("a module process on SIGTERM", () => {
  let cluster: TestCluster;
  let configPath: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(join(root, "dist", "src", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` (npm test does it in pretest)");
    cluster = await startTestCluster({ modules: [{ def: loginModule, instances: 1 }] });
    configPath = join(cluster.config.runtimeDir, "cluster.json");
    writeFileSync(configPath, JSON.stringify({ ...cluster.config, log: { level: "info" } }));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await cluster?.stop();
  });

  it("answers every request in flight, then exits 0", async () => {
    const child = spawn(process.execPath, [bin, "module", "echo", "--config", configPath, "--instance", "echo-sigterm"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    await waitForOutput(child, "module ready");
    const { client } = await cluster.loggedInClient("sleeper");
    const inflight = Array.from({ length: 25 }, (_, i) => client.request("echo.Sleep", { ms: 1_000 + i * 10 }));
    // SIGTERM only once all 25 reached the module: "in flight" means delivered, not still in transit
    const nc = await connect({ servers: cluster.nats.url });
    try {
      for (let seen = 0; seen < 25; ) {
        const reply = await nc.request(instanceControlSubject("echo-sigterm", "status"), "", { timeout: 2_000 });
        seen = (JSON.parse(new TextDecoder().decode(reply.data)) as { inflight: number }).inflight;
        if (seen < 25) await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await nc.close();
    }
    child.kill("SIGTERM");
    const results = await Promise.allSettled(inflight);
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect(results.every((r) => r.status === "fulfilled" && r.value.servedBy === "echo-sigterm")).toBe(true);
    expect(await exited).toBe(0);
    // nothing serves echo any more: the next call fails fast instead of hanging
    await expect(client.request("echo.Echo", { text: "after" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});
