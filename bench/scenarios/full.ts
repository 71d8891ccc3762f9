// Bots scenario "full": the whole player journey. Register and log in; team up in pairs (bot 2k
// creates an invite-only team, invites bot 2k+1, which joins; coordinated through bot.shared);
// quick-join tic-tac-toe and play the game to its end, moving on RoomEvent pushes when turnUid
// is the bot's own; read rank.Me (a winner must see its win credited by the game module) and
// rank.Top; after the last round, leave the team. Every wait has a timeout, and a failing bot
// reports why (its partner too, at once).
// Needs login, team, game (mode "tictactoe": 2) and rank (board "tictactoe") — the default config.
// `npx switchyard bots --scenario bench/scenarios/full.ts --bots 50 --ramp 5 [--duration 60]`
import { defineScenario, type Scenario } from "../../src/bots/index.js";
import { leaveTeam, teamUp } from "./lib/team-pair.js";
import { playTicTacToe } from "./lib/tictactoe-player.js";

/** The board the game module credits a win to (1 point each). */
export const BOARD = "tictactoe";

/** Bounds on every wait of a bot (ms). */
export interface FullTimeouts {
  /** Until the other bot of the pair logged in / created the team / joined. */
  partnerMs: number;
  /** Until a second player sits down in the room. */
  opponentMs: number;
  /** Until it is the bot's turn again. */
  turnMs: number;
}

export const TIMEOUTS: FullTimeouts = { partnerMs: 20_000, opponentMs: 20_000, turnMs: 15_000 };

/** The scenario with other bounds on its waits (tests use short ones). */
export function fullScenario(timeouts: FullTimeouts = TIMEOUTS): Scenario {
  return defineScenario(async (bot) => {
    await bot.request("login.Register", { username: bot.username, password: bot.password });
    const { uid } = await bot.request("login.Login", { username: bot.username, password: bot.password });
    const team = await teamUp(bot, uid, timeouts.partnerMs);
    let wins = 0;
    let lastRoom: string | null = null;
    do {
      const game = await playTicTacToe(bot, uid, timeouts, lastRoom);
      lastRoom = game.roomId;
      if (game.outcome === "won") wins++;
      const me = await bot.request("rank.Me", { board: BOARD });
      if (me.score < wins) {
        throw new Error(`bot #${bot.index}: won ${wins} game(s) but rank.Me on "${BOARD}" shows score ${me.score}: the game module did not credit the win`);
      }
      const top = await bot.request("rank.Top", { board: BOARD, n: 10 });
      if (wins > 0 && top.entries.length === 0) throw new Error(`bot #${bot.index}: won ${wins} game(s) but rank.Top on "${BOARD}" is empty`);
      await bot.sleep(bot.randomInt(10, 50));
    } while (bot.running);
    await leaveTeam(bot, team);
  });
}

export default fullScenario();
