import { team } from "../../src/generated/proto.js";
import type { services } from "../../src/generated/proto.js";
import type { ContextOf, RuntimeOf } from "../../src/module/index.js";
import { teamChannel } from "./team-keys.js";
import type { TeamStore } from "./team-store.js";

/** A team handler's context (state and settings typed by the caller). */
export type TeamContext<State = unknown, Settings = unknown> = ContextOf<typeof services.team, State, Settings>;

/** Push routes of the team module (declared in proto/team.proto, service TeamPush). */
export const TeamPush = {
  event: "team.Event",
  chat: "team.ChatMessage",
  invitation: "team.Invitation",
} as const;

/** Publishes a team event to every member in the team's channel (but `exclude`). */
export function publishEvent(rt: RuntimeOf<typeof services.team>, ev: Omit<team.Event, "kind"> & { kind: team.EventKind }, exclude: string[] = []): void {
  rt.publish(teamChannel(ev.teamId), TeamPush.event, ev, exclude);
}

/**
 * Puts the calling session in team `teamId`'s channel, then checks the membership again: a
 * Kick or Leave that ran between the caller's membership check and the join found no session
 * to take out, so this join is undone rather than left listening to a team it is not in.
 */
export async function joinTeamChannel(ctx: TeamContext, store: TeamStore, uid: string, teamId: string): Promise<void> {
  await ctx.joinChannel(teamChannel(teamId));
  if ((await store.teamOf(uid)) !== teamId) await ctx.leaveChannel(teamChannel(teamId));
}

/**
 * Takes a player's current session out of a team's channel. Best effort: an offline player
 * has no session in it (a gateway drops a session's channels when it closes and when its uid
 * changes, e.g. at login.Logout), and a gateway that does not answer has no session to clean.
 */
export async function removeFromChannel(ctx: TeamContext, uid: string, teamId: string): Promise<void> {
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
