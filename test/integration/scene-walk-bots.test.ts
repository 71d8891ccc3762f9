import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBots, type Scenario } from "../../src/bots/index.js";
import type { WalkTally } from "../../bench/scenarios/lib/walk-tally.js";
import loginModule from "../../modules/login/index.js";
import sceneModule from "../../modules/scene/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";

// A small map so that a handful of bots see each other: the scenario reads its map size once.
process.env.SCENE_WALK_SIZE = "60";
process.env.SCENE_WALK_ID = "walk-test";
const { default: sceneWalk, walkTally } = await import("../../bench/scenarios/scene-walk.js");

describe("bots scenario scene-walk against a real gateway", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 1 },
        { def: sceneModule, instances: 1 },
      ],
      config: { modules: { login: { instances: 1, settings: { scryptN: 1024 } }, scene: { instances: 1, ordered: false, settings: { bounds: { minX: 0, minY: 0, maxX: 60, maxY: 60 }, cellSize: 20 } } } },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("6 bots random-walk for 2 s: moves go out at about 10 Hz, each is delivered to neighbours, no correction, every bot leaves", async () => {
    let tally: WalkTally | null = null;
    const scenario: Scenario = (bot) => {
      tally = walkTally(bot);
      return sceneWalk(bot);
    };
    const report = await runBots({ scenario, scenarioName: "scene-walk", bots: 6, rampSeconds: 0, durationSeconds: 2, client: { port: cluster.gateways[0]!.address().port, heartbeatMs: 0 } });
    expect(report.failures).toEqual([]);
    expect(report.finished).toBe(6);
    const t = tally as unknown as WalkTally;
    console.log(`scene-walk: ${t.moves} moves, ${t.pushes} Positions pushes, ${t.updates} updates`);
    expect(t.walking).toBe(0); // every bot left
    expect(t.moves).toBeGreaterThan(6 * 5); // ~10 Hz for ~2 s each, minus login time
    expect(t.updates).toBeGreaterThan(0);
    expect(t.pushes).toBeGreaterThan(0);
    expect(t.corrections).toBe(0); // 15 units/s stays under maxSpeed 20
    expect(t.buckets().length).toBeGreaterThan(0);
  });
});
