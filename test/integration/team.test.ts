import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as natsConnect, type NatsConnection } from "nats";
import { listInstances } from "../../src/bus/discovery.js";
import { SwitchyardError, type Client } from "../../src/client/index.js";
import { team } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { TeamKeys } from "../../modules/team/team-keys.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import loginModule from "../../modules/login/index.js";
import teamModule from "../../modules/team/index.js";
import { failure } from "../helpers/failure.js";
import { collectPushes, nextPush } from "../helpers/pushes.js";
import { freshUser, uniqueName, type TestUser as Player } from "../helpers/users.js";

/**
 * A round trip from `c` through its gateway, NATS and a team instance (a NOT_FOUND answer): a push
 * published before it has reached `c` by the time it resolves, since NATS keeps the order of each
 * connection and the gateway writes pushes and replies to a session in order.
 */
const settle = (c: Client) => c.request("team.Info", { teamId: "000000000000" }).catch(() => undefined);

/** Invitations per inviter per window in this cluster. */
const INVITES = 4;

describe("team module through real gateways (2 team instances, 2 login instances, 2 gateways)", () => {
  let cluster: TestCluster;
  let nc: NatsConnection;
  const registry = loadProto();

  const player = (prefix: string): Promise<Player> => freshUser(cluster, prefix);

  async function create(p: Player, open = true, capacity = 5): Promise<team.TeamInfo> {
    return p.client.request("team.Create", { name: `${p.name}'s team`, open, capacity });
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: teamModule, instances: 2 },
      ],
      gateways: 2,
      config: {
        modules: {
          login: { instances: 2, settings: { scryptN: 1024 } },
          team: { instances: 2, settings: { maxInvitesPerWindow: INVITES } },
        },
      },
    });
    nc = await natsConnect({ servers: cluster.nats.url });
  });

  /** Requests handled so far (served + refused) by each team instance. */
  async function teamLoad(): Promise<Map<string, number>> {
    const list = await listInstances(nc, 300);
    return new Map(list.filter((s) => s.module === "team").map((s) => [s.instance, s.served + s.errors]));
  }

  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it("Create makes the caller leader; a player is in at most one team", async () => {
    const [a, b] = [await player("one"), await player("one")];
    const t = await create(a);
    expect(t).toMatchObject({ leader: a.uid, capacity: 5, open: true, channel: `team-${t.teamId}` });
    expect(t.members).toEqual([expect.objectContaining({ uid: a.uid, username: a.name, leader: true, online: true })]);
    const again = await failure(create(a));
    expect(again.code).toBe("CONFLICT");
    expect(again.message).toContain("team.Leave");
    const other = await create(b);
    expect((await failure(a.client.request("team.Join", { teamId: other.teamId }))).code).toBe("CONFLICT");
    expect((await failure(b.client.request("team.Join", { teamId: t.teamId }))).code).toBe("CONFLICT");
    // joining your own team again is harmless
    expect((await a.client.request("team.Join", { teamId: t.teamId })).members).toHaveLength(1);
  });

  it("invite-only teams: Join needs an invitation, pushed to the invitee on another gateway", async () => {
    const [leader, guest, stranger] = [await player("inv"), await player("inv"), await player("inv")];
    const t = await create(leader, false);
    const refused = await failure(guest.client.request("team.Join", { teamId: t.teamId }));
    expect(refused.code).toBe("FORBIDDEN");
    expect(refused.message).toContain("team.Invite");

    const pushed = nextPush<team.Invitation>(guest.client, "team.Invitation");
    const inv = await leader.client.request("team.Invite", { uid: guest.uid });
    expect(inv.delivered).toBe(false);
    expect(await pushed).toMatchObject({ teamId: t.teamId, teamName: t.name, fromUid: leader.uid, fromUsername: leader.name });

    const joinedEvent = nextPush<team.Event>(leader.client, "team.Event", (e) => e.kind === team.EventKind.EVENT_JOINED);
    const joined = await guest.client.request("team.Join", { teamId: t.teamId });
    expect(joined.members.map((m) => m.uid)).toEqual([leader.uid, guest.uid]);
    expect(await joinedEvent).toMatchObject({ teamId: t.teamId, uid: guest.uid, leader: leader.uid, members: 2 });
    // the invitation was used up
    expect((await failure(stranger.client.request("team.Join", { teamId: t.teamId }))).code).toBe("FORBIDDEN");
    expect((await failure(leader.client.request("team.Invite", { uid: guest.uid }))).code).toBe("CONFLICT");
    expect((await failure(stranger.client.request("team.Invite", { uid: guest.uid }))).code).toBe("NOT_FOUND");
    expect((await failure(guest.client.request("team.Join", { teamId: "not-an-id" }))).code).toBe("BAD_REQUEST");
  });

  it("50 concurrent Joins on a capacity-5 team through two team instances: exactly 5 members", async () => {
    const leader = await player("cap");
    const t = await create(leader, true, 5);
    const joiners = await Promise.all(Array.from({ length: 50 }, (_, i) => cluster.loggedInClient(`capj${i}`, i % 2)));
    const before = await teamLoad();
    expect(before.size).toBe(2);
    const results = await Promise.allSettled(joiners.map((j) => j.client.request("team.Join", { teamId: t.teamId })));
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    // the leader holds one seat: 4 joins succeed, 46 are refused
    expect(ok).toHaveLength(4);
    expect(refused).toHaveLength(46);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(SwitchyardError);
      expect((r.reason as SwitchyardError).code).toBe("CONFLICT");
      expect((r.reason as SwitchyardError).message).toContain("full");
    }
    // both team instances took part
    const after = await teamLoad();
    for (const [instance, n] of after) expect(n, instance).toBeGreaterThan(before.get(instance) ?? 0);
    const info = await leader.client.request("team.Info", {});
    expect(info.members).toHaveLength(5);
    expect(info.leader).toBe(leader.uid);
    const redis = (cluster.modules.find((m) => m.runtime.name === "team")!).runtime.redis();
    expect(await redis.zcard(TeamKeys.members(t.teamId))).toBe(5);
    // every member, and only members, points at the team
    const of = await Promise.all(joiners.map((j) => redis.get(TeamKeys.of(j.uid))));
    expect(of.filter((id) => id === t.teamId)).toHaveLength(4);
    expect(of.filter((id) => id !== null && id !== t.teamId)).toHaveLength(0);
  });

  it("a leaving leader hands over to the longest-standing member; the last one out disbands", async () => {
    const [a, b, c] = [await player("hand"), await player("hand"), await player("hand")];
    const t = await create(a);
    await b.client.request("team.Join", { teamId: t.teamId });
    await c.client.request("team.Join", { teamId: t.teamId });
    const changed = nextPush<team.Event>(c.client, "team.Event", (e) => e.kind === team.EventKind.EVENT_LEADER_CHANGED);
    expect(await a.client.request("team.Leave", {})).toMatchObject({ teamId: t.teamId, newLeader: b.uid, disbanded: false });
    expect(await changed).toMatchObject({ uid: b.uid, leader: b.uid, members: 2 });
    expect((await c.client.request("team.Info", {})).leader).toBe(b.uid);
    expect((await failure(a.client.request("team.Info", {}))).code).toBe("NOT_FOUND");
    expect((await b.client.request("team.Leave", {})).newLeader).toBe(c.uid);
    expect(await c.client.request("team.Leave", {})).toMatchObject({ disbanded: true, newLeader: "" });
    expect((await failure(a.client.request("team.Info", { teamId: t.teamId }))).code).toBe("NOT_FOUND");
    expect((await failure(a.client.request("team.Leave", {}))).code).toBe("NOT_FOUND");
  });

  it("never a team without a leader: members (leader included) leaving at once", async () => {
    const members = [await player("race"), await player("race"), await player("race"), await player("race"), await player("race")];
    const t = await create(members[0]!);
    for (const m of members.slice(1)) await m.client.request("team.Join", { teamId: t.teamId });
    // all but the last leave concurrently: the last one ends up leader
    await Promise.all(members.slice(0, 4).map((m) => m.client.request("team.Leave", {})));
    const info = await members[4]!.client.request("team.Info", {});
    expect(info.members.map((m) => m.uid)).toEqual([members[4]!.uid]);
    expect(info.leader).toBe(members[4]!.uid);

    // a full team where everyone leaves at once: it is gone, with every membership
    const t2 = await create(members[0]!);
    for (const m of members.slice(1, 4)) await m.client.request("team.Join", { teamId: t2.teamId });
    await Promise.all(members.slice(0, 4).map((m) => m.client.request("team.Leave", {})));
    const redis = cluster.modules.find((m) => m.runtime.name === "team")!.runtime.redis();
    expect(await redis.exists(TeamKeys.team(t2.teamId), TeamKeys.members(t2.teamId))).toBe(0);
    for (const m of members.slice(0, 4)) expect(await redis.get(TeamKeys.of(m.uid))).toBeNull();
  });

  it("Kick and TransferLeader are for the leader only; the kicked player hears it and leaves the channel", async () => {
    const [lead, m1, m2] = [await player("kick"), await player("kick"), await player("kick")];
    const t = await create(lead);
    await m1.client.request("team.Join", { teamId: t.teamId });
    await m2.client.request("team.Join", { teamId: t.teamId });
    const denied = await failure(m1.client.request("team.Kick", { uid: m2.uid }));
    expect(denied.code).toBe("FORBIDDEN");
    expect(denied.message).toContain(lead.uid);
    expect((await failure(m1.client.request("team.TransferLeader", { uid: m1.uid }))).code).toBe("BAD_REQUEST");
    expect((await failure(m1.client.request("team.TransferLeader", { uid: m2.uid }))).code).toBe("FORBIDDEN");
    expect((await failure(lead.client.request("team.Kick", { uid: lead.uid }))).code).toBe("BAD_REQUEST");
    expect((await failure(lead.client.request("team.Kick", { uid: "u-not-here" }))).code).toBe("NOT_FOUND");

    const kickedEvent = nextPush<team.Event>(m2.client, "team.Event", (e) => e.kind === team.EventKind.EVENT_KICKED);
    const after = await lead.client.request("team.Kick", { uid: m2.uid });
    expect(after.members.map((m) => m.uid)).toEqual([lead.uid, m1.uid]);
    expect(await kickedEvent).toMatchObject({ teamId: t.teamId, uid: m2.uid });
    const m2Chat = collectPushes<team.ChatMessage>(m2.client, "team.ChatMessage");
    const m1Chat = nextPush<team.ChatMessage>(m1.client, "team.ChatMessage");
    await lead.client.request("team.Chat", { text: "without m2" });
    expect((await m1Chat).text).toBe("without m2");
    await settle(m2.client);
    expect(m2Chat).toEqual([]);
    // the kicked player is free to team up elsewhere
    await create(m2);

    const transferred = await lead.client.request("team.TransferLeader", { uid: m1.uid });
    expect(transferred.leader).toBe(m1.uid);
    expect(transferred.members.find((m) => m.leader)!.uid).toBe(m1.uid);
    expect((await failure(lead.client.request("team.Kick", { uid: m1.uid }))).code).toBe("FORBIDDEN");
    expect((await failure(m1.client.request("team.TransferLeader", { uid: m2.uid }))).code).toBe("NOT_FOUND");
  });

  it("Disband (leader only) removes the team and every membership, telling the members", async () => {
    const [lead, m] = [await player("dis"), await player("dis")];
    const t = await create(lead);
    await m.client.request("team.Join", { teamId: t.teamId });
    expect((await failure(m.client.request("team.Disband", {}))).code).toBe("FORBIDDEN");
    const ev = nextPush<team.Event>(m.client, "team.Event", (e) => e.kind === team.EventKind.EVENT_DISBANDED);
    await lead.client.request("team.Disband", {});
    expect(await ev).toMatchObject({ teamId: t.teamId, uid: lead.uid });
    expect((await failure(m.client.request("team.Info", { teamId: t.teamId }))).code).toBe("NOT_FOUND");
    expect((await failure(m.client.request("team.Chat", { text: "anyone?" }))).code).toBe("NOT_FOUND");
    await create(m);
    await create(lead);
  });

  it("team chat reaches every member across gateways; after a reconnect, Info rejoins the channel", async () => {
    const [a, b, outsider] = [await player("chat"), await player("chat"), await player("chat")];
    const t = await create(a);
    await b.client.request("team.Join", { teamId: t.teamId });
    const gotA = nextPush<team.ChatMessage>(a.client, "team.ChatMessage");
    const gotB = nextPush<team.ChatMessage>(b.client, "team.ChatMessage");
    const outsiderChat = collectPushes<team.ChatMessage>(outsider.client, "team.ChatMessage");
    await a.client.request("team.Chat", { text: "hello team" });
    for (const got of [await gotA, await gotB]) expect(got).toMatchObject({ teamId: t.teamId, fromUid: a.uid, fromUsername: a.name, text: "hello team" });
    expect((await failure(outsider.client.request("team.Chat", { text: "let me in" }))).code).toBe("NOT_FOUND");
    expect((await failure(a.client.request("team.Chat", { text: "" }))).code).toBe("BAD_REQUEST");

    // b reconnects (new session): still a member, but its new session is not in the channel yet
    await b.client.close();
    const b2 = await cluster.client(0);
    await b2.request("login.Login", { username: b.name, password: "password-1" });
    const beforeInfo = collectPushes<team.ChatMessage>(b2, "team.ChatMessage");
    await a.client.request("team.Chat", { text: "are you there?" });
    await settle(b2);
    expect(beforeInfo).toEqual([]);
    const info = await b2.request("team.Info", {});
    expect(info.members.map((m) => m.uid)).toEqual([a.uid, b.uid]);
    const gotB2 = nextPush<team.ChatMessage>(b2, "team.ChatMessage");
    await a.client.request("team.Chat", { text: "welcome back" });
    expect((await gotB2).text).toBe("welcome back");
    await settle(outsider.client);
    expect(outsiderChat).toEqual([]);
  });

  it("Invite answers alike for unknown, offline and online uids, and records nothing for an unknown one", async () => {
    const [lead, online, offline] = [await player("same"), await player("same"), await player("same")];
    await offline.client.close();
    const t = await create(lead, false);
    const redis = cluster.modules.find((m) => m.runtime.name === "team")!.runtime.redis();
    const pushed = nextPush<team.Invitation>(online.client, "team.Invitation");
    const replies = [];
    for (const uid of [online.uid, offline.uid, "u999999"]) {
      const r = await lead.client.request("team.Invite", { uid });
      replies.push({ ...r, expiresAt: typeof r.expiresAt });
    }
    expect(replies).toEqual(Array(3).fill({ delivered: false, expiresAt: "number" }));
    expect((await pushed).teamId).toBe(t.teamId);
    expect((await redis.hkeys(TeamKeys.invites(t.teamId))).sort()).toEqual([online.uid, offline.uid].sort());
  });

  it(`Invite is rate-limited per inviter (${INVITES} per window, counted in Redis with a TTL)`, async () => {
    const [lead, other] = [await player("spam"), await player("spam")];
    await create(lead, false);
    await create(other, false);
    for (let i = 0; i < INVITES; i++) await lead.client.request("team.Invite", { uid: `u-none-${i}` });
    const limited = await failure(lead.client.request("team.Invite", { uid: other.uid }));
    expect(limited.code).toBe("RATE_LIMITED");
    expect(limited.message).toMatch(/wait \d+ s/);
    const redis = cluster.modules.find((m) => m.runtime.name === "team")!.runtime.redis();
    expect(await redis.ttl(TeamKeys.inviteCount(lead.uid))).toBeGreaterThan(0);
    // another inviter has its own budget
    expect((await other.client.request("team.Invite", { uid: lead.uid })).delivered).toBe(false);
  });

  /** Every team push a connection receives from now on, as "route text-or-kind". */
  function teamPushes(c: Client): string[] {
    const out: string[] = [];
    c.on<team.ChatMessage>("team.ChatMessage", (m) => out.push(`chat ${m.teamId} ${m.text}`));
    c.on<team.Event>("team.Event", (e) => out.push(`event ${e.teamId} ${e.kind}`));
    c.on<team.Invitation>("team.Invitation", (i) => out.push(`invitation ${i.teamId}`));
    return out;
  }

  /**
   * Makes `c`'s current account create a team and chat in it, and resolves once that chat came
   * back on `c`: any push that was sent to `c` earlier has been delivered by then.
   */
  async function marker(c: Client, text: string): Promise<string> {
    const own = await c.request("team.Create", { name: text, open: true, capacity: 2 });
    const back = nextPush<team.ChatMessage>(c, "team.ChatMessage", (m) => m.text === text);
    await c.request("team.Chat", { text });
    await back;
    return own.teamId;
  }

  it("a member that logs out, then is kicked, hears nothing more on that connection, nor once logged in as another account", async () => {
    const [lead, m] = [await player("out"), await player("out")];
    const altName = uniqueName("outalt");
    await m.client.request("login.Register", { username: altName, password: "password-1" });
    const t = await create(lead);
    await m.client.request("team.Join", { teamId: t.teamId });
    const token = (await m.client.request("login.Login", { username: m.name, password: "password-1" })).token;
    const heard = teamPushes(m.client);

    await m.client.request("login.Logout", { token });
    await lead.client.request("team.Kick", { uid: m.uid });
    await lead.client.request("team.Chat", { text: "after the logout" });
    // the same connection, now another account, in a team of its own
    await m.client.request("login.Login", { username: altName, password: "password-1" });
    const own = await marker(m.client, "alt is here");
    await lead.client.request("team.Chat", { text: "after the relogin" });
    await lead.client.request("team.Invite", { uid: m.uid });
    const again = nextPush<team.ChatMessage>(m.client, "team.ChatMessage", (x) => x.text === "second marker");
    await m.client.request("team.Chat", { text: "second marker" });
    await again;
    expect(heard.filter((h) => !h.includes(own))).toEqual([]);
    expect(heard.filter((h) => h.includes(own))).toEqual([`chat ${own} alt is here`, `chat ${own} second marker`]);
  });

  it("a member that logs in as another account on the same connection (no logout) hears nothing more of the old team", async () => {
    const [lead, m] = [await player("swap"), await player("swap")];
    const altName = uniqueName("swapalt");
    await m.client.request("login.Register", { username: altName, password: "password-1" });
    const t = await create(lead);
    await m.client.request("team.Join", { teamId: t.teamId });
    const heard = teamPushes(m.client);

    await m.client.request("login.Login", { username: altName, password: "password-1" });
    await lead.client.request("team.Chat", { text: "to the old member" });
    await lead.client.request("team.Kick", { uid: m.uid });
    await lead.client.request("team.Invite", { uid: m.uid });
    const own = await marker(m.client, "swapped in");
    expect(heard.filter((h) => !h.includes(own))).toEqual([]);
  });

  it("takes the acting player from the session: a body naming another uid changes nothing for them", async () => {
    const [a, victim] = [await player("self"), await player("self")];
    const t = await create(victim);
    await a.client.request("team.Join", { teamId: t.teamId });
    // team.Leave with a body that names the victim (a KickRequest's uid field, unknown to team.Empty)
    const forged = registry.message<team.KickRequest>("team.KickRequest").encode({ uid: victim.uid });
    await a.client.requestRaw("team.Leave", forged);
    const info = await victim.client.request("team.Info", {});
    expect(info.members.map((m) => m.uid)).toEqual([victim.uid]);
    expect(info.leader).toBe(victim.uid);
    // a non-leader naming the leader as the target of Kick is refused, the leader stays
    await a.client.request("team.Join", { teamId: t.teamId });
    expect((await failure(a.client.request("team.Kick", { uid: victim.uid }))).code).toBe("FORBIDDEN");
    const anon = await cluster.client();
    expect((await failure(anon.request("team.Info", {}))).code).toBe("UNAUTHENTICATED");
  });
});
