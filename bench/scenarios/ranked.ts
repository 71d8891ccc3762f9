// Bots scenario "ranked": register, log in, then play rounds — each submits a score to the
// "bots" board and reads the top 10 and the player's own rank — with think time in between.
// `npx switchyard bots --scenario bench/scenarios/ranked.ts --bots 200 --ramp 10 --duration 60`
// The board must take client scores: modules.rank.settings.boards
// `"bots": {"policy": "best", "clientSubmit": {"min": 1, "max": 10000}}`.
import { defineScenario } from "../../src/bots/index.js";

export const BOARD = "bots";

export default defineScenario(async (bot) => {
  await bot.request("login.Register", { username: bot.username, password: bot.password });
  await bot.request("login.Login", { username: bot.username, password: bot.password });
  do {
    const score = bot.randomInt(1, 10_000);
    const submitted = await bot.request("rank.Submit", { board: BOARD, score });
    if (submitted.rank < 1) throw new Error(`rank.Submit answered rank ${submitted.rank}`);
    await bot.request("rank.Top", { board: BOARD, n: 10 });
    const me = await bot.request("rank.Me", { board: BOARD });
    if (me.score < score) throw new Error(`rank.Me has ${me.score}, below the submitted ${score}`);
    await bot.sleep(bot.randomInt(20, 100));
  } while (bot.running);
});
