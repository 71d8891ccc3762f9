import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { social } from "../../src/generated/proto.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { failure } from "../helpers/failure.js";
import { collectPushes, nextPush } from "../helpers/pushes.js";
import { freshUser, type TestUser as User } from "../helpers/users.js";
import loginModule from "../../modules/login/index.js";
import socialModule from "../../modules/social/index.js";

const { RelationKind: R, UpdateKind: U } = social;

/** A round trip through the user's gateway and a social instance (see chat.test.ts settle). */
const settle = (u: User) => u.client.request("social.Blocked", {});

describe("social module through real gateways (2 social, 2 login instances, 2 gateways)", () => {
  let cluster: TestCluster;
  const user = (prefix: string, gateway?: number) => freshUser(cluster, prefix, gateway);

  async function friends(a: User, b: User): Promise<void> {
    await a.client.request("social.Request", { uid: b.uid });
    await b.client.request("social.Accept", { uid: a.uid });
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: socialModule, instances: 2 },
      ],
      gateways: 2,
      config: { modules: { login: { instances: 2, settings: { scryptN: 1024 } }, social: { instances: 2, settings: { maxPendingRequests: 3 } } } },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("request, accept: both are friends, each told by a push, listed with online status", async () => {
    const [a, b] = [await user("fr", 0), await user("fr", 1)];
    const asked = nextPush<social.FriendRequest>(b.client, "social.FriendRequest");
    expect(await a.client.request("social.Request", { uid: b.uid })).toEqual({ uid: b.uid, kind: R.RELATION_REQUESTED });
    expect(await asked).toMatchObject({ fromUid: a.uid, fromUsername: a.name });
    expect(await b.client.request("social.Friends", {})).toEqual({ friends: [], incoming: [{ uid: a.uid, username: a.name, online: false }], outgoing: [] });
    const again = await failure(a.client.request("social.Request", { uid: b.uid }));
    expect(again.code).toBe("CONFLICT");

    const accepted = nextPush<social.FriendUpdate>(a.client, "social.FriendUpdate");
    expect(await b.client.request("social.Accept", { uid: a.uid })).toEqual({ uid: a.uid, kind: R.RELATION_FRIEND });
    expect(await accepted).toEqual({ uid: b.uid, username: b.name, kind: U.UPDATE_ACCEPTED });
    expect((await a.client.request("social.Friends", {})).friends).toEqual([{ uid: b.uid, username: b.name, online: true }]);
    expect((await b.client.request("social.Friends", {})).friends).toEqual([{ uid: a.uid, username: a.name, online: true }]);
    expect((await failure(a.client.request("social.Request", { uid: b.uid }))).message).toBe(`you are already friends with ${b.uid}`);
  });

  it("a request to someone who asked you already makes you friends; decline and remove tell the other side", async () => {
    const [a, b, c] = [await user("dr"), await user("dr"), await user("dr")];
    await a.client.request("social.Request", { uid: b.uid });
    expect((await b.client.request("social.Request", { uid: a.uid })).kind).toBe(R.RELATION_FRIEND);
    const removed = nextPush<social.FriendUpdate>(a.client, "social.FriendUpdate", (m) => m.kind === U.UPDATE_REMOVED);
    await b.client.request("social.Remove", { uid: a.uid });
    expect(await removed).toMatchObject({ uid: b.uid, kind: U.UPDATE_REMOVED });
    expect((await a.client.request("social.Friends", {})).friends).toEqual([]);

    await c.client.request("social.Request", { uid: a.uid });
    const declined = nextPush<social.FriendUpdate>(c.client, "social.FriendUpdate");
    await a.client.request("social.Decline", { uid: c.uid });
    expect(await declined).toMatchObject({ uid: a.uid, kind: U.UPDATE_DECLINED });
    expect((await failure(a.client.request("social.Accept", { uid: c.uid }))).code).toBe("NOT_FOUND");
    // withdrawing a request
    await c.client.request("social.Request", { uid: b.uid });
    expect(await c.client.request("social.Remove", { uid: b.uid })).toEqual({ uid: b.uid, kind: R.RELATION_NONE });
    expect((await b.client.request("social.Friends", {})).incoming).toEqual([]);
  });

  it("bad input: unknown uid, yourself, missing uid, too many pending requests, too many presence uids", async () => {
    const a = await user("bad");
    const unknown = await failure(a.client.request("social.Request", { uid: "u-nobody" }));
    expect([unknown.code, unknown.message]).toEqual(["NOT_FOUND", 'no user has uid "u-nobody": check the uid']);
    expect((await failure(a.client.request("social.Request", { uid: a.uid }))).code).toBe("BAD_REQUEST");
    expect((await failure(a.client.request("social.Accept", {}))).code).toBe("BAD_REQUEST");
    const others = [await user("bad"), await user("bad"), await user("bad"), await user("bad")];
    for (const o of others.slice(0, 3)) await a.client.request("social.Request", { uid: o.uid });
    const many = await failure(a.client.request("social.Request", { uid: others[3]!.uid }));
    expect(many.code).toBe("RATE_LIMITED");
    const presence = await failure(a.client.request("social.Presence", { uids: Array.from({ length: 101 }, (_, i) => `u${i}`) }));
    expect(presence.code).toBe("BAD_REQUEST");
    // social.IsBlocked is for modules (chat asks it): a client is refused
    expect((await failure(a.client.request("social.IsBlocked", { owner: others[0]!.uid, other: a.uid }))).code).toBe("FORBIDDEN");
  });

  it("block: ends the friendship, and the blocked user learns only a neutral error", async () => {
    const [a, b] = [await user("blk"), await user("blk")];
    await friends(a, b);
    const told = nextPush<social.FriendUpdate>(b.client, "social.FriendUpdate");
    expect(await a.client.request("social.Block", { uid: b.uid })).toEqual({ uid: b.uid, kind: R.RELATION_BLOCKED });
    // what b hears is what a Remove would tell
    expect(await told).toMatchObject({ uid: a.uid, kind: U.UPDATE_REMOVED });
    const requests = collectPushes<social.FriendRequest>(a.client, "social.FriendRequest");
    const refused = await failure(b.client.request("social.Request", { uid: a.uid }));
    expect([refused.code, refused.message]).toEqual(["FORBIDDEN", "you cannot send a friend request to this user"]);
    await settle(a);
    expect(requests).toEqual([]);
    expect(await a.client.request("social.Blocked", {})).toEqual({ uids: [b.uid] });
    // a is online, but looks offline to the user it blocked
    expect(await b.client.request("social.Presence", { uids: [a.uid, b.uid] })).toEqual({ entries: [{ uid: a.uid, online: false }, { uid: b.uid, online: true }] });
    expect((await b.client.request("social.Friends", {})).friends).toEqual([]);
    expect((await a.client.request("social.Unblock", { uid: b.uid })).kind).toBe(R.RELATION_NONE);
    expect((await failure(a.client.request("social.Unblock", { uid: b.uid }))).code).toBe("NOT_FOUND");
    expect((await b.client.request("social.Request", { uid: a.uid })).kind).toBe(R.RELATION_REQUESTED);
  });

  it("presence: friends are pushed online at login and offline at disconnect; Presence answers for a list", async () => {
    const [a, b] = [await user("pr", 0), await user("pr", 1)];
    await friends(a, b);
    const offline = nextPush<social.PresenceChange>(a.client, "social.Presence", (m) => m.uid === b.uid && !m.online);
    await b.client.close();
    expect(await offline).toEqual({ uid: b.uid, online: false });
    expect(await a.client.request("social.Presence", { uids: [b.uid, a.uid, "u-nobody"] })).toEqual({
      entries: [
        { uid: b.uid, online: false },
        { uid: a.uid, online: true },
        { uid: "u-nobody", online: false },
      ],
    });
    const online = nextPush<social.PresenceChange>(a.client, "social.Presence", (m) => m.uid === b.uid && m.online);
    const again = await cluster.client(1);
    await again.request("login.Login", { username: b.name, password: "password-1" });
    expect(await online).toEqual({ uid: b.uid, online: true });
    expect((await a.client.request("social.Friends", {})).friends).toEqual([{ uid: b.uid, username: b.name, online: true }]);
  });

  it("a login replacing a session elsewhere is not announced as offline", async () => {
    const [a, b] = [await user("re", 0), await user("re", 1)];
    await friends(a, b);
    const changes = collectPushes<social.PresenceChange>(a.client, "social.Presence");
    const online = nextPush<social.PresenceChange>(a.client, "social.Presence", (m) => m.uid === b.uid && m.online);
    const kicked = new Promise<void>((resolve) => b.client.onKick(() => resolve()));
    const second = await cluster.client(0);
    await second.request("login.Login", { username: b.name, password: "password-1" });
    await Promise.all([online, kicked]);
    // The replaced session's close came first; the real offline comes after it, so by then a
    // wrong "offline" for the replaced session would have arrived too.
    const offline = nextPush<social.PresenceChange>(a.client, "social.Presence", (m) => m.uid === b.uid && !m.online);
    await second.close();
    await offline;
    await settle(a);
    expect(changes.filter((c) => c.uid === b.uid)).toEqual([
      { uid: b.uid, online: true },
      { uid: b.uid, online: false },
    ]);
  });
});
