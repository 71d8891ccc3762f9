// Bots scenario "basic": register, log in, then echo round trips with a little think time.
// `npx switchyard bots --scenario bench/scenarios/basic.ts --bots 100 --ramp 5 --duration 30`
import { defineScenario } from "../../src/bots/index.js";

/** Echo calls per play phase. */
export const ECHOES_PER_ROUND = 5;

export default defineScenario(async (bot) => {
  await bot.request("login.Register", { username: bot.username, password: bot.password });
  await bot.request("login.Login", { username: bot.username, password: bot.password });
  do {
    for (let i = 0; i < ECHOES_PER_ROUND; i++) {
      const reply = await bot.request("echo.Echo", { text: `hello from ${bot.username} #${i}` });
      if (reply.text !== `hello from ${bot.username} #${i}`) throw new Error(`echo answered ${JSON.stringify(reply.text)}`);
    }
    await bot.sleep(bot.randomInt(10, 50));
  } while (bot.running);
});
