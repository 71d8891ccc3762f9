import { team } from "../../src/generated/proto.js";
import type { HandlerContext, ModuleRuntime } from "../../src/module/index.js";
import { teamChannel } from "./team-keys.js";

/** Push routes of the team module; each carries the message type of the same name. */
export const TeamPush = {
  event: "team.Event",
  chat: "team.ChatMessage",
  invitation: "team.Invitation",
} as const;

/** Publishes a team event to every member in the team's channel (but `exclude`). */
export function publishEvent(rt: ModuleRuntime, ev: Omit<team.Event, "kind"> & { kind: team.EventKind }, exclude: string[] = []): void {
  rt.publish(teamChannel(ev.teamId), TeamPush.event, TeamPush.event, ev, exclude);
}

/**
 * Takes a player's current session out of a team's channel. Best effort: an offline player
 * has no session (its gateway dropped its channels when it closed), and a gateway that does
 * not answer has no session to clean either.
 */
export async function removeFromChannel(ctx: HandlerContext, uid: string, teamId: string): Promise<void> {
  try {
    if (uid === ctx.session?.uid) {
      await ctx.leaveChannel(teamChannel(teamId));
      return;
    }
    const entry = await ctx.module.onlineTable().lookup(uid);
    if (entry !== null) await ctx.module.leaveChannel({ ...entry, uid }, teamChannel(teamId));
  } catch (err) {
    ctx.log.info({ uid, teamId, err: (err as Error).message }, "could not take a session out of the team channel");
  }
}
