// Bots scenario "scene-walk": every bot registers, logs in, enters one scene at a random spot
// and random-walks there, sending scene.Move as NOTIFY at SCENE_WALK_HZ (default 10) at
// SCENE_WALK_SPEED units/s (default 15, under the default maxSpeed of 20), turning now and then
// and bouncing off the map edges (lib/random-walk.ts, the walk of bench/scene.ts' driver too).
// A Correction resets its position. It counts the Positions it receives (and how old each
// update is: seq carries the send time) in the run's shared tally.
// Needs login and scene (default settings: a 1000 × 1000 map) — e.g. the default config.
// `npx switchyard bots --scenario bench/scenarios/scene-walk.ts --bots 200 --ramp 10 --duration 60`
import { defineScenario, errorCode, type Bot } from "../../src/bots/index.js";
import type { scene } from "../../src/generated/proto.js";
import { RandomWalk } from "./lib/random-walk.js";
import { WalkTally, sendClock } from "./lib/walk-tally.js";

/** The scene every bot walks in (SCENE_WALK_ID). */
export const SCENE_ID = process.env.SCENE_WALK_ID ?? "bots-walk";
const HZ = Number(process.env.SCENE_WALK_HZ ?? 10);
const SPEED = Number(process.env.SCENE_WALK_SPEED ?? 15);
/** The map of the default scene settings. */
const SIZE = Number(process.env.SCENE_WALK_SIZE ?? 1000);
const TALLY = "scene-walk.tally";

/** The tally shared by the bots of this run (created by the first bot that asks). */
export function walkTally(bot: Pick<Bot, "shared">): WalkTally {
  let t = bot.shared.get(TALLY) as WalkTally | undefined;
  if (t === undefined) bot.shared.set(TALLY, (t = new WalkTally()));
  return t;
}

/** Errors worth another try while a crowd logs in at once. */
const RETRIED = new Set(["RATE_LIMITED", "TIMEOUT", "UNAVAILABLE"]);

/**
 * Runs `call` again (up to 5 tries, 0.2-1 s apart) while it answers RATE_LIMITED ("login is
 * busy"), TIMEOUT or UNAVAILABLE; `done(code)` says which other error means it already worked
 * (a Register retried after a timeout finds its name taken: CONFLICT).
 */
async function retried<T>(bot: Bot, call: () => Promise<T>, done: (code: string) => boolean = () => false): Promise<T | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const code = errorCode(err);
      if (attempt > 1 && done(code)) return null;
      if (attempt >= 5 || !RETRIED.has(code)) throw err;
      await bot.sleep(bot.randomInt(200, 1_000));
    }
  }
}

export default defineScenario(async (bot) => {
  const tally = walkTally(bot);
  await retried(bot, () => bot.request("login.Register", { username: bot.username, password: bot.password }), (code) => code === "CONFLICT");
  await retried(bot, () => bot.request("login.Login", { username: bot.username, password: bot.password }));
  const walk = new RandomWalk({ size: SIZE, speed: SPEED, hz: HZ }, (lo, hi) => bot.randomInt(lo, hi));
  bot.client.on<scene.Positions>("scene.Positions", (m) => {
    tally.pushes++;
    for (const p of m.players) tally.received(p.seq);
  });
  bot.client.on<scene.Appear>("scene.Appear", (m) => (tally.appeared += m.players.length));
  bot.client.on<scene.Disappear>("scene.Disappear", (m) => (tally.disappeared += m.uids.length));
  bot.client.on<scene.Correction>("scene.Correction", (m) => {
    tally.corrections++;
    if (m.self) walk.place(m.self.x, m.self.y);
  });
  const entered = await bot.request("scene.Enter", { sceneId: SCENE_ID, x: walk.x, y: walk.y });
  walk.place(entered.self!.x, entered.self!.y);
  tally.walking++;
  const periodMs = 1000 / HZ;
  let next = Date.now() + bot.randomInt(0, Math.floor(periodMs));
  do {
    await bot.sleep(Math.max(0, next - Date.now()));
    next += periodMs;
    walk.next();
    bot.client.notify("scene.Move", { x: walk.x, y: walk.y, dir: walk.dir, seq: sendClock() });
    tally.moves++;
  } while (bot.running);
  tally.walking--;
  await bot.request("scene.Leave", {});
});
