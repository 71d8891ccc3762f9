// Helper process of bench/scene.ts: runs the scene-walk bot scenario for N bots against one
// gateway. Args: PORT BOTS RAMP_S. Prints `ready`, then `progress {"walking","failed"}` every
// 500 ms. SIGUSR1 starts the measured window (the tally is reset); SIGUSR2 ends it: it prints
// `result <json>` and exits (the bench tears the cluster down). SCENE_WALK_* env: see the scenario.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { runBots } from "../../src/bots/index.js";
import sceneWalk, { walkTally } from "../scenarios/scene-walk.js";

const [port, bots, ramp] = process.argv.slice(2).map(Number) as [number, number, number];
let shared = new Map<string, unknown>();
let failed = 0;
// The scenario keeps its tally in bot.shared: take that map from the first bot.
const scenario: typeof sceneWalk = (bot) => {
  shared = bot.shared;
  return sceneWalk(bot);
};
// How late this process' timers run: a starved load generator shows here, not in the servers.
const lag = monitorEventLoopDelay({ resolution: 10 });

process.on("SIGUSR1", () => {
  walkTally({ shared }).reset();
  lag.enable();
});
process.on("SIGUSR2", () => {
  lag.disable();
  const t = walkTally({ shared });
  const result = { walking: t.walking, failed, lagP99Ms: lag.percentile(99) / 1e6, moves: t.moves, pushes: t.pushes, updates: t.updates, corrections: t.corrections, appeared: t.appeared, disappeared: t.disappeared, latency: t.buckets() };
  process.stdout.write(`result ${JSON.stringify(result)}\n`, () => process.exit(0));
});

process.stdout.write("ready\n");
await runBots({
  scenario,
  scenarioName: "scene-walk",
  bots,
  rampSeconds: ramp,
  durationSeconds: 3_600,
  // A crowd connecting and logging in at once on a shared machine: generous client timeouts.
  client: { host: "127.0.0.1", port, heartbeatMs: 0, timeoutMs: 30_000, requestTimeoutMs: 30_000 },
  progressMs: 500,
  onProgress(stats) {
    failed = stats.failed;
    process.stdout.write(`progress ${JSON.stringify({ walking: walkTally({ shared }).walking, failed })}\n`);
  },
});
