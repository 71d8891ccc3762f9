// Helper process of bench/scene.ts: runs the scene-walk bot scenario for N bots against one
// gateway. Args: PORT BOTS RAMP_S START_AT END_AT (epoch ms). Bots start ramping at once; the
// tally is reset at START_AT and printed at END_AT as `result <json>`; the bots stop one second
// later and `report <json>` follows (bots, failed, reasons). SCENE_WALK_* env: see the scenario.
import { runBots } from "../../src/bots/index.js";
import sceneWalk, { walkTally } from "../scenarios/scene-walk.js";
import { epochMs } from "./receivers.js";

const [port, bots, ramp, startAt, endAt] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const shared = { shared: new Map<string, unknown>() };
let tallyOwner: { shared: Map<string, unknown> } | null = null;

// The scenario keeps its tally in bot.shared; capture that map from the first bot.
const scenario: typeof sceneWalk = (bot) => {
  tallyOwner ??= bot;
  return sceneWalk(bot);
};

setTimeout(() => walkTally(tallyOwner ?? shared).reset(), Math.max(0, startAt - epochMs()));
setTimeout(() => {
  const t = walkTally(tallyOwner ?? shared);
  process.stdout.write(`result ${JSON.stringify({ moves: t.moves, pushes: t.pushes, updates: t.updates, corrections: t.corrections, appeared: t.appeared, disappeared: t.disappeared, latency: t.buckets() })}\n`);
}, Math.max(0, endAt - epochMs()));

process.stdout.write("ready\n");
const report = await runBots({
  scenario,
  scenarioName: "scene-walk",
  bots,
  rampSeconds: ramp,
  durationSeconds: (endAt + 1_000 - epochMs()) / 1000,
  // A crowd connecting and logging in at once on a shared machine: generous client timeouts.
  client: { host: "127.0.0.1", port, heartbeatMs: 0, timeoutMs: 30_000, requestTimeoutMs: 30_000 },
});
process.stdout.write(`report ${JSON.stringify({ bots: report.bots, failed: report.failed, reasons: report.failures })}\n`);
process.exit(0);
