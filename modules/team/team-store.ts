import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { TeamKeys } from "./team-keys.js";
import { CREATE, DISBAND, INVITE, JOIN, KICK, LEAVE, TRANSFER, type TeamReply, type TeamScriptKeys } from "./team-scripts.js";

/** Reads of the caller's team and script runs before giving up when its membership keeps changing. */
const MAX_ATTEMPTS = 5;

/** A team as stored. */
export interface TeamRecord {
  id: string;
  name: string;
  leader: string;
  capacity: number;
  open: boolean;
  /** Longest-standing first. */
  members: { uid: string; joinedAt: number }[];
}

/** Result of a leave. */
export interface LeaveResult {
  teamId: string;
  /** The leader after the leave ("" when disbanded). */
  leader: string;
  /** True when the leaving player was the leader and handed over to `leader`. */
  handedOver: boolean;
  members: number;
  disbanded: boolean;
}

type Reply = TeamReply;

/** Turns a script's refusal into an error that tells the player what to do. */
function refuse(reply: Reply, action: string): never {
  const [status, id, extra] = reply;
  switch (status) {
    case "in_team":
      throw new SwitchyardError("CONFLICT", `you are already in team ${id}: a player is in at most one team, leave it first (team.Leave)`);
    case "no_team":
      throw new SwitchyardError("NOT_FOUND", `you are not in a team, so you cannot ${action}: create one (team.Create) or join one (team.Join)`);
    case "not_found":
      throw new SwitchyardError("NOT_FOUND", `team ${id} does not exist (it may have been disbanded): check the team id`);
    case "not_invited":
      throw new SwitchyardError("FORBIDDEN", `team ${id} is invite-only: ask one of its members to invite you (team.Invite)`);
    case "full":
      throw new SwitchyardError("CONFLICT", `team ${id} is full (${extra} members): try another team, or ask a member to make room`);
    case "not_leader":
      throw new SwitchyardError("FORBIDDEN", `only the leader of team ${id} (${extra}) may ${action}: ask them`);
    case "not_member":
      throw new SwitchyardError("NOT_FOUND", `that player is not a member of your team ${id}: check the uid (team.Info lists members)`);
    case "self":
      throw new SwitchyardError("BAD_REQUEST", "you cannot kick yourself: use team.Leave (a leader leaving hands over to the longest-standing member)");
    case "member":
      throw new SwitchyardError("CONFLICT", `that player is already a member of team ${id}`);
    default:
      throw new Error(`team script answered an unknown status ${JSON.stringify(status)}`);
  }
}

/**
 * Teams in Redis. Every change is one Lua script, so it is atomic across all team instances:
 * membership, capacity and leadership are checked and changed in the same step.
 */
export class TeamStore {
  constructor(private readonly redis: Redis) {}

  /** The keys every team script starts with: the caller's `of` key and team `id`'s keys. */
  private keysOf(uid: string, id: string): TeamScriptKeys {
    return [TeamKeys.of(uid), TeamKeys.team(id), TeamKeys.members(id), TeamKeys.joined(id), TeamKeys.invites(id)];
  }

  /**
   * Runs `attempt` with the caller's team id as just read ("" for none) until its script does not
   * answer 'retry' (the caller's membership changed in between); refusals become errors.
   */
  private async withCallerTeam(uid: string, action: string, attempt: (id: string) => Promise<Reply>, accept: readonly string[] = []): Promise<Reply> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const id = (await this.redis.get(TeamKeys.of(uid))) ?? "";
      const reply = await attempt(id);
      if (reply[0] === "retry") continue;
      if (reply[0] !== "ok" && !accept.includes(reply[0])) refuse(reply, action);
      return reply;
    }
    throw new SwitchyardError("UNAVAILABLE", `your team membership changed ${MAX_ATTEMPTS} times while the request ran: retry it`);
  }

  /** Creates a team led by `uid`; CONFLICT when `uid` is already in one. */
  async create(uid: string, id: string, name: string, capacity: number, open: boolean): Promise<void> {
    await this.withCallerTeam(uid, "create a team", (cur) =>
      CREATE.run(this.redis, [...this.keysOf(uid, id), TeamKeys.team(cur)], [uid, cur, id, name, capacity, open ? "1" : "0", Date.now()]),
    );
  }

  /** Adds `uid` to team `id`; idempotent for a member of that team. Returns the member count. */
  async join(uid: string, id: string): Promise<{ members: number; already: boolean }> {
    const reply = await this.withCallerTeam(uid, "join", (cur) => JOIN.run(this.redis, [...this.keysOf(uid, id), TeamKeys.team(cur)], [uid, cur, id, Date.now()]), ["member"]);
    if (reply[0] === "member") return { members: 0, already: true };
    return { members: Number(reply[2]), already: false };
  }

  /** Removes `uid` from their team (handing over leadership, or deleting an emptied team). */
  async leave(uid: string): Promise<LeaveResult> {
    const [, id, leader, members, disbanded, handedOver] = await this.withCallerTeam(uid, "leave one", (cur) => LEAVE.run(this.redis, this.keysOf(uid, cur), [uid, cur]));
    return { teamId: String(id), leader: String(leader), members: Number(members), disbanded: disbanded === 1, handedOver: handedOver === 1 };
  }

  /** Leader only: removes `target`. Returns the team id and member count. */
  async kick(leader: string, target: string): Promise<{ teamId: string; members: number }> {
    const [, id, members] = await this.withCallerTeam(leader, "kick members", (cur) =>
      KICK.run(this.redis, [...this.keysOf(leader, cur), TeamKeys.of(target)], [leader, cur, target]),
    );
    return { teamId: String(id), members: Number(members) };
  }

  /** Leader only: makes `target` the leader. */
  async transfer(leader: string, target: string): Promise<{ teamId: string; members: number }> {
    const [, id, members] = await this.withCallerTeam(leader, "transfer the leadership", (cur) => TRANSFER.run(this.redis, this.keysOf(leader, cur), [leader, cur, target]));
    return { teamId: String(id), members: Number(members) };
  }

  /** Leader only: deletes the team; returns its id and former members. */
  async disband(leader: string): Promise<{ teamId: string; members: string[] }> {
    const [, id, ...members] = await this.withCallerTeam(leader, "disband the team", async (cur) => {
      const uids = cur === "" ? [] : await this.redis.zrange(TeamKeys.members(cur), 0, -1);
      return DISBAND.run(this.redis, [...this.keysOf(leader, cur), ...uids.map((u) => TeamKeys.of(u))], [leader, cur, ...uids]);
    });
    return { teamId: String(id), members: members.map(String) };
  }

  /**
   * Checks that `inviter` may invite `invitee` (refusals as for a real one) and, when `record`,
   * records the invitation to the inviter's team, valid until `expiresAt`.
   */
  async invite(inviter: string, invitee: string, expiresAt: number, record: boolean): Promise<{ teamId: string; name: string }> {
    const [, id, name] = await this.withCallerTeam(inviter, "invite players", (cur) =>
      INVITE.run(this.redis, this.keysOf(inviter, cur), [inviter, cur, invitee, expiresAt, record ? "1" : "0"]),
    );
    return { teamId: String(id), name: String(name) };
  }

  /**
   * Counts one invitation sent by `uid` in a window of `windowSeconds` that starts at its first
   * one (shared by every instance); returns the count so far and the seconds left in the window.
   */
  async countInvite(uid: string, windowSeconds: number): Promise<{ count: number; ttl: number }> {
    const key = TeamKeys.inviteCount(uid);
    const res = await this.redis.multi().incr(key).expire(key, windowSeconds, "NX").ttl(key).exec();
    if (res === null) throw new Error("team: MULTI aborted");
    for (const [err] of res) if (err) throw err;
    return { count: Number(res[0]![1]), ttl: Number(res[2]![1]) };
  }

  /** The team id of `uid`, or null. */
  async teamOf(uid: string): Promise<string | null> {
    return this.redis.get(TeamKeys.of(uid));
  }

  /** A consistent snapshot of a team (one MULTI), or null when it does not exist. */
  async read(id: string): Promise<TeamRecord | null> {
    const res = await this.redis.multi().hgetall(TeamKeys.team(id)).zrange(TeamKeys.members(id), 0, -1).hgetall(TeamKeys.joined(id)).exec();
    if (res === null) throw new Error("team: MULTI aborted");
    for (const [err] of res) if (err) throw err;
    const h = res[0]![1] as Record<string, string>;
    if (!h.leader) return null;
    const uids = res[1]![1] as string[];
    const joined = res[2]![1] as Record<string, string>;
    return {
      id,
      name: h.name ?? "",
      leader: h.leader,
      capacity: Number(h.capacity),
      open: h.open === "1",
      members: uids.map((uid) => ({ uid, joinedAt: Number(joined[uid] ?? 0) })),
    };
  }
}
