import type { Bot } from "../../../src/bots/index.js";
import { waitFor } from "./wait.js";

/** A bot's team after {@link teamUp}. */
export interface PairTeam {
  teamId: string;
  /** True for the bot that created the team. */
  leader: boolean;
  /** False for the last bot of an odd count: a team of one. */
  paired: boolean;
}

const key = (pair: number, what: "partner-uid" | "team" | "joined" | "failed"): string => `team-pair:${pair}:${what}`;

/** Throws when the other bot of the pair recorded a failure (so this one stops waiting). */
function partnerFailed(bot: Bot, pair: number): undefined {
  const reason = bot.shared.get(key(pair, "failed"));
  if (typeof reason === "string") throw new Error(`the other bot of pair ${pair} failed: ${reason}`);
  return undefined;
}

/**
 * Pairs bots 2k and 2k+1 in an invite-only team of 2, coordinated through `bot.shared`: the
 * even bot creates the team, waits for the odd bot's uid, invites it and publishes the team id;
 * the odd bot joins and says so. Each wait is bounded by `timeoutMs`; a bot that fails records
 * why, so its partner fails at once with that reason instead of timing out.
 */
export async function teamUp(bot: Bot, uid: string, timeoutMs: number): Promise<PairTeam> {
  const pair = Math.floor(bot.index / 2);
  const leader = bot.index % 2 === 0;
  try {
    if (leader) {
      const team = await bot.request("team.Create", { name: `pair-${pair}`, capacity: 2, open: false });
      if (bot.index + 1 >= bot.bots) return { teamId: team.teamId, leader, paired: false };
      const partnerUid = await waitFor(bot, `bot #${bot.index + 1} to log in (pair ${pair})`, timeoutMs, () => partnerFailed(bot, pair) ?? (bot.shared.get(key(pair, "partner-uid")) as string | undefined));
      await bot.request("team.Invite", { uid: partnerUid });
      bot.shared.set(key(pair, "team"), team.teamId);
      await waitFor(bot, `bot #${bot.index + 1} to join team ${team.teamId}`, timeoutMs, () => partnerFailed(bot, pair) ?? (bot.shared.get(key(pair, "joined")) as true | undefined));
      return { teamId: team.teamId, leader, paired: true };
    }
    bot.shared.set(key(pair, "partner-uid"), uid);
    const teamId = await waitFor(bot, `bot #${bot.index - 1} to create team and invite (pair ${pair})`, timeoutMs, () => partnerFailed(bot, pair) ?? (bot.shared.get(key(pair, "team")) as string | undefined));
    const info = await bot.request("team.Join", { teamId });
    if (!info.members.some((m) => m.uid === uid)) throw new Error(`bot #${bot.index}: team.Join ${teamId} answered without this bot among the members`);
    bot.shared.set(key(pair, "joined"), true);
    return { teamId, leader, paired: true };
  } catch (err) {
    if (!bot.shared.has(key(pair, "failed"))) bot.shared.set(key(pair, "failed"), `bot #${bot.index}: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
}

/** Leaves the team of {@link teamUp}; throws when the reply names another team. */
export async function leaveTeam(bot: Bot, team: PairTeam): Promise<void> {
  const left = await bot.request("team.Leave", {});
  if (left.teamId !== team.teamId) throw new Error(`bot #${bot.index}: team.Leave left ${JSON.stringify(left.teamId)}, expected team ${team.teamId}`);
}
