import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isErrorCode } from "../../src/protocol/errors.js";
import type { Client } from "../../src/client/index.js";
import { projectRoot } from "../../src/config/cluster-config.js";
import type { scene } from "../../src/generated/proto.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { nextPush } from "../helpers/pushes.js";
import loginModule from "../../modules/login/index.js";
import sceneModule from "../../modules/scene/index.js";
import { waitForOutput } from "../helpers/child-output.js";

const root = projectRoot();
const bin = join(root, "bin", "switchyard.js");
const LEASE_MS = 600;
const VICTIM = "scene-victim";


describe("a scene instance killed with -9", () => {
  let cluster: TestCluster;
  let victim: ChildProcess;

  beforeAll(async () => {
    if (!existsSync(join(root, "dist", "modules", "scene", "index.js"))) throw new Error("dist/ is missing: run `npm run build` (npm test does it in pretest)");
    // No scene instance in the test process yet: the scene entered first lands on the child.
    cluster = await startTestCluster({
      gateways: 2,
      modules: [{ def: loginModule, instances: 1 }],
      config: { modules: { login: { instances: 1, settings: { scryptN: 1024 } }, scene: { instances: 0, settings: { cellSize: 10, leaseMs: LEASE_MS } } } },
    });
    const configPath = join(cluster.config.runtimeDir, "cluster.json");
    writeFileSync(configPath, JSON.stringify({ ...cluster.config, log: { level: "info" } }));
    victim = spawn(process.execPath, [bin, "module", "scene", "--config", configPath, "--instance", VICTIM], { stdio: ["ignore", "pipe", "inherit"] });
    await waitForOutput(victim, "module ready");
  });

  afterAll(async () => {
    if (victim && victim.exitCode === null && victim.signalCode === null) victim.kill("SIGKILL");
    await cluster?.stop();
  });

  it("its players disappear for their neighbours (reason lost) once its lease runs out; Enter again lands on a live instance", async () => {
    const a = await cluster.loggedInClient("doomed-a", 0);
    const b = await cluster.loggedInClient("doomed-b", 1);
    const ra = await a.client.request("scene.Enter", { sceneId: "doomed", x: 100, y: 100 });
    const rb = await b.client.request("scene.Enter", { sceneId: "doomed", x: 101, y: 101 });
    expect([ra.instanceId, rb.instanceId]).toEqual([VICTIM, VICTIM]);
    expect(rb.players.map((p) => p.uid)).toEqual([a.uid]);
    const survivor = await cluster.addModule(sceneModule);

    const lostForA = nextPush<scene.Disappear>(a.client, "scene.Disappear", () => true, 10_000);
    const lostForB = nextPush<scene.Disappear>(b.client, "scene.Disappear", () => true, 10_000);
    const exited = new Promise((r) => victim.once("exit", r));
    const killedAt = Date.now();
    victim.kill("SIGKILL");
    await exited;
    expect(await lostForA).toEqual({ sceneId: "doomed", uids: [b.uid], reason: "lost" });
    expect(await lostForB).toEqual({ sceneId: "doomed", uids: [a.uid], reason: "lost" });
    console.log(`kill -9 → Disappear "lost" after ${Date.now() - killedAt} ms (leaseMs ${LEASE_MS})`);

    // The session is still pinned to the dead instance: the first request clears the pin (UNAVAILABLE).
    const again = await enterAgain(a.client);
    expect(again.instanceId).toBe(survivor.instanceId);
    expect(again.players).toEqual([]); // b has not come back yet
    const appear = nextPush<scene.Appear>(a.client, "scene.Appear");
    const rb2 = await enterAgain(b.client);
    expect(rb2.players.map((p) => p.uid)).toEqual([a.uid]);
    expect((await appear).players.map((p) => p.uid)).toEqual([b.uid]);
  });
});

async function enterAgain(c: Client): Promise<scene.EnterReply> {
  try {
    return await c.request("scene.Enter", { sceneId: "doomed", x: 100, y: 100 });
  } catch (err) {
    if (!isErrorCode(err, "UNAVAILABLE")) throw err;
    return c.request("scene.Enter", { sceneId: "doomed", x: 100, y: 100 });
  }
}
