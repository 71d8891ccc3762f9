import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { services, team } from "../../src/generated/proto.js";
import { startIdGenerator, type IdGenerator } from "../../src/ids/index.js";
import { defineModule, z } from "../../src/module/index.js";
import { UsernameCache } from "../shared/username-cache.js";
import { hasAccount, usernamesFromLogin } from "../shared/usernames.js";
import { TeamPush, joinTeamChannel, publishEvent, removeFromChannel, type TeamContext } from "./team-events.js";
import { teamChannel } from "./team-keys.js";
import { TeamStore, type TeamRecord } from "./team-store.js";

// Snowflake ids (decimal) since ids moved to the generator; 12 hex characters before, still valid.
const TEAM_ID = /^(\d{1,20}|[0-9a-f]{12})$/;
const MAX_NAME = 32;
const MAX_CHAT = 500;

const positive = z.number().int().min(1);

/** modules.team.settings, with their defaults. */
const TeamSettings = z
  .object({
    /** Capacity of a team created with capacity 0. */
    defaultCapacity: positive.default(5),
    /** Largest capacity a team may ask for. */
    maxCapacity: positive.default(50),
    /** How long an invitation stays valid. */
    inviteTtlSeconds: positive.default(600),
    /** Invitations one player may send per window (counted in Redis, across instances). */
    maxInvitesPerWindow: positive.default(20),
    /** Length of that window; it starts at the player's first invitation. */
    inviteWindowSeconds: positive.default(60),
  })
  .strict()
  .refine((s) => s.defaultCapacity <= s.maxCapacity, { message: "defaultCapacity exceeds maxCapacity", path: ["defaultCapacity"] });
type TeamSettings = z.output<typeof TeamSettings>;

/** What one team instance works with. */
interface TeamState {
  redis: Redis;
  store: TeamStore;
  /** Usernames from login (login.Usernames), remembered in the instance. */
  names: UsernameCache;
  ids: IdGenerator;
  settings: TeamSettings;
}

type Ctx = TeamContext<TeamState, TeamSettings>;

function checkTeamId(id: string): string {
  if (!TEAM_ID.test(id)) throw new SwitchyardError("BAD_REQUEST", `team id ${JSON.stringify(id.slice(0, 40))} is not valid: team ids are decimal snowflake ids (or 12 hex characters for older teams), as returned by team.Create or team.Info`);
  return id;
}

function checkTarget(ctx: Ctx, uid: string, what: string): string {
  if (!uid) throw new SwitchyardError("BAD_REQUEST", `uid is required: name the player to ${what} (team.Info lists members' uids)`);
  if (uid === ctx.session?.uid) throw new SwitchyardError("BAD_REQUEST", `you cannot ${what} yourself`);
  return uid;
}

/** The reply of Create/Join/Kick/TransferLeader/Info: the team with names and online flags. */
async function describe(ctx: Ctx, st: TeamState, t: TeamRecord): Promise<Partial<team.TeamInfo>> {
  const uids = t.members.map((m) => m.uid);
  const online = ctx.module.onlineTable();
  const [names, sessions] = await Promise.all([st.names.lookup(uids), Promise.all(uids.map((u) => online.lookup(u)))]);
  return {
    teamId: t.id,
    name: t.name,
    leader: t.leader,
    capacity: t.capacity,
    open: t.open,
    channel: teamChannel(t.id),
    members: t.members.map((m, i) => ({ uid: m.uid, username: names.get(m.uid) ?? "", leader: m.uid === t.leader, joinedAt: m.joinedAt, online: sessions[i] !== null })),
  };
}

async function describeById(ctx: Ctx, st: TeamState, id: string): Promise<Partial<team.TeamInfo>> {
  const t = await st.store.read(id);
  if (t === null) throw new SwitchyardError("NOT_FOUND", `team ${id} does not exist (it may have been disbanded): check the team id`);
  return describe(ctx, st, t);
}

/**
 * Teams: create, invite, join (capacity; open or invite-only), leave (leader hands over),
 * kick / transfer / disband (leader only), info, and chat on the team's channel. All state is in
 * Redis and every change is one atomic Lua script, so any instance serves any request.
 *
 * Channel membership follows sessions, not accounts: Create, Join and Info put the calling
 * session in "team-<id>"; Leave, Kick and Disband take sessions out. A client calls team.Info
 * after each login or reconnect to (re)join its team's channel.
 */
export default defineModule(services.team, {
  version: "1.1.0",
  settings: TeamSettings,
  async onStart(rt): Promise<TeamState> {
    const redis = rt.redis();
    return {
      redis,
      store: new TeamStore(redis),
      names: new UsernameCache(usernamesFromLogin(rt)),
      ids: await startIdGenerator(redis, rt.instanceId, { log: rt.log }),
      settings: rt.settings,
    };
  },
  async onStop(_rt, state) {
    await state.ids.close();
  },
  handlers: {
    async Create(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const name = req.name.trim();
      if (name.length === 0 || name.length > MAX_NAME || /\p{Cc}/u.test(name)) {
        throw new SwitchyardError("BAD_REQUEST", `team name must be 1-${MAX_NAME} printable characters`);
      }
      const capacity = req.capacity === 0 ? st.settings.defaultCapacity : req.capacity;
      if (capacity < 1 || capacity > st.settings.maxCapacity) {
        throw new SwitchyardError("BAD_REQUEST", `capacity must be 1-${st.settings.maxCapacity} (0 = ${st.settings.defaultCapacity})`);
      }
      const id = st.ids.next();
      await st.store.create(uid, id, name, capacity, req.open);
      await joinTeamChannel(ctx, st.store, uid, id);
      return describeById(ctx, st, id);
    },
    async Invite(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const invitee = checkTarget(ctx, req.uid, "invite");
      const sent = await st.store.countInvite(uid, st.settings.inviteWindowSeconds);
      if (sent.count > st.settings.maxInvitesPerWindow) {
        throw new SwitchyardError("RATE_LIMITED", `you sent ${st.settings.maxInvitesPerWindow} invitations in ${st.settings.inviteWindowSeconds} s: wait ${Math.max(sent.ttl, 1)} s before inviting again`);
      }
      // Unknown, offline and online uids get the same reply: Invite tells neither which uids
      // exist nor who is online. An unknown uid just has no invitation recorded or pushed.
      const exists = await hasAccount(st.names, invitee);
      const expiresAt = Date.now() + st.settings.inviteTtlSeconds * 1000;
      const { teamId, name } = await st.store.invite(uid, invitee, expiresAt, exists);
      if (exists) {
        const fromUsername = (await st.names.lookup([uid])).get(uid) ?? "";
        const invitation: team.Invitation = { teamId, teamName: name, fromUid: uid, fromUsername, expiresAt };
        await ctx.module.pushToUid(invitee, TeamPush.invitation, invitation);
      }
      return { delivered: false, expiresAt };
    },
    async Join(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const id = checkTeamId(req.teamId);
      const r = await st.store.join(uid, id);
      await joinTeamChannel(ctx, st.store, uid, id);
      const info = await describeById(ctx, st, id);
      if (!r.already) publishEvent(ctx.module, { teamId: id, kind: team.EventKind.EVENT_JOINED, uid, leader: info.leader ?? "", members: r.members });
      return info;
    },
    async Leave(ctx) {
      const uid = ctx.requireUid();
      const r = await ctx.state.store.leave(uid);
      await removeFromChannel(ctx, uid, r.teamId);
      if (!r.disbanded) {
        publishEvent(ctx.module, { teamId: r.teamId, kind: team.EventKind.EVENT_LEFT, uid, leader: r.leader, members: r.members });
        if (r.handedOver) publishEvent(ctx.module, { teamId: r.teamId, kind: team.EventKind.EVENT_LEADER_CHANGED, uid: r.leader, leader: r.leader, members: r.members });
      }
      return { teamId: r.teamId, newLeader: r.handedOver ? r.leader : "", disbanded: r.disbanded };
    },
    async Kick(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const target = checkTarget(ctx, req.uid, "kick");
      const r = await st.store.kick(uid, target);
      const ev = { teamId: r.teamId, kind: team.EventKind.EVENT_KICKED, uid: target, leader: uid, members: r.members };
      publishEvent(ctx.module, ev, [target]);
      // The kicked player hears it directly, whatever the state of its channel membership.
      await ctx.module.pushToUid(target, TeamPush.event, ev);
      await removeFromChannel(ctx, target, r.teamId);
      return describeById(ctx, st, r.teamId);
    },
    async TransferLeader(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const target = checkTarget(ctx, req.uid, "transfer the leadership to");
      const r = await st.store.transfer(uid, target);
      publishEvent(ctx.module, { teamId: r.teamId, kind: team.EventKind.EVENT_LEADER_CHANGED, uid: target, leader: target, members: r.members });
      return describeById(ctx, st, r.teamId);
    },
    async Disband(ctx) {
      const uid = ctx.requireUid();
      const r = await ctx.state.store.disband(uid);
      publishEvent(ctx.module, { teamId: r.teamId, kind: team.EventKind.EVENT_DISBANDED, uid, leader: "", members: 0 });
      await Promise.all(r.members.map((m) => removeFromChannel(ctx, m, r.teamId)));
      return {};
    },
    async Info(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const id = req.teamId ? checkTeamId(req.teamId) : await st.store.teamOf(uid);
      if (id === null) throw new SwitchyardError("NOT_FOUND", "you are not in a team: create one (team.Create), join one (team.Join), or pass a team_id");
      const info = await describeById(ctx, st, id);
      // A member's call (re)joins the team channel: this is how a reconnected client gets chat back.
      if (info.members?.some((m) => m.uid === uid)) await joinTeamChannel(ctx, st.store, uid, id);
      return info;
    },
    async Chat(ctx, req) {
      const uid = ctx.requireUid();
      const st = ctx.state;
      const text = req.text.trim();
      if (text.length === 0 || text.length > MAX_CHAT) throw new SwitchyardError("BAD_REQUEST", `chat text must be 1-${MAX_CHAT} characters`);
      const id = await st.store.teamOf(uid);
      if (id === null) throw new SwitchyardError("NOT_FOUND", "you are not in a team, so there is no team chat: create one (team.Create) or join one (team.Join)");
      const fromUsername = (await st.names.lookup([uid])).get(uid) ?? "";
      const msg: team.ChatMessage = { teamId: id, fromUid: uid, fromUsername, text, sentAt: Date.now() };
      ctx.module.publish(teamChannel(id), TeamPush.chat, msg);
      return {};
    },
  },
});
