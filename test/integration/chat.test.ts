import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { chat } from "../../src/generated/proto.js";
import { decodeSnowflake } from "../../src/ids/index.js";
import type { ModuleHost } from "../../src/module/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { failure } from "../helpers/failure.js";
import { collectPushes, nextPush } from "../helpers/pushes.js";
import { freshUser, uniqueName, type TestUser as User } from "../helpers/users.js";
import loginModule from "../../modules/login/index.js";
import chatModule from "../../modules/chat/index.js";
import socialModule from "../../modules/social/index.js";

const MAX_TEXT = 40;
const PER_WINDOW = 8;

/**
 * A round trip through the user's gateway and a chat instance: a push published before it has
 * reached the client when it resolves (NATS keeps each connection's order, the gateway writes a
 * session's pushes and replies in order).
 */
const settle = (u: User) => u.client.request("chat.Rooms", {});

describe("chat module through real gateways (2 chat, 2 login, 2 social instances, 2 gateways)", () => {
  let cluster: TestCluster;
  const user = (prefix: string, gateway?: number) => freshUser(cluster, prefix, gateway);

  function trustedHost(): ModuleHost {
    return cluster.modules.find((m) => m.instanceId.startsWith("login"))!;
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: chatModule, instances: 2 },
        { def: socialModule, instances: 2 },
      ],
      gateways: 2,
      config: {
        modules: {
          login: { instances: 2, settings: { scryptN: 1024 } },
          chat: { instances: 2, settings: { maxTextLength: MAX_TEXT, maxMessagesPerWindow: PER_WINDOW, rateWindowSeconds: 60, admins: [] } },
          social: { instances: 2 },
        },
      },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("a room message reaches every other member on both gateways, with a snowflake id and server time", async () => {
    const [a, b, c, d] = [await user("room", 0), await user("room", 1), await user("room", 0), await user("room", 1)];
    for (const u of [a, b, c]) await u.client.request("chat.Join", { room: "lobby1" });
    const got = [b, c].map((u) => nextPush<chat.RoomMessage>(u.client, "chat.RoomMessage"));
    const own = collectPushes<chat.RoomMessage>(a.client, "chat.RoomMessage");
    const outsider = collectPushes<chat.RoomMessage>(d.client, "chat.RoomMessage");
    const before = Date.now();
    const sent = await a.client.request("chat.Say", { room: "lobby1", text: "  hello room  " });
    const [mb, mc] = await Promise.all(got);
    for (const m of [mb, mc]) expect(m).toEqual({ id: sent.id, room: "lobby1", fromUid: a.uid, fromUsername: a.name, text: "hello room", sentAt: sent.sentAt });
    const parts = decodeSnowflake(sent.id)!;
    expect(parts.timestampMs).toBeGreaterThanOrEqual(before - 5);
    expect(sent.sentAt).toBeGreaterThanOrEqual(before);
    await Promise.all([settle(a), settle(d)]);
    expect(own).toEqual([]);
    expect(outsider).toEqual([]);

    const page = await d.client.request("chat.Members", { room: "lobby1" });
    expect(page.members.map((m) => m.uid).sort()).toEqual([a.uid, b.uid, c.uid].sort());
    expect(page.members.find((m) => m.uid === b.uid)?.username).toBe(b.name);
    const rooms = await d.client.request("chat.Rooms", {});
    expect(rooms.rooms).toContainEqual({ room: "lobby1", members: 3 });
    expect(rooms.rooms).toContainEqual({ room: "world", members: expect.any(Number) });
  });

  it("ids are unique over many messages from both instances", async () => {
    const [a, b] = [await user("ids"), await user("ids")];
    await a.client.request("chat.Join", { room: "ids" });
    const ids = await Promise.all(Array.from({ length: PER_WINDOW }, (_, i) => a.client.request("chat.Say", { room: "ids", text: `m${i}` }).then((r) => r.id)));
    const tells = await Promise.all(Array.from({ length: PER_WINDOW }, (_, i) => b.client.request("chat.Tell", { toUid: a.uid, text: `t${i}` }).then((r) => r.id)));
    const all = [...ids, ...tells];
    expect(new Set(all).size).toBe(all.length);
    // Both chat instances answered (queue group), each under its own leased worker id.
    console.log(`snowflake worker ids seen: ${[...new Set(all.map((id) => decodeSnowflake(id)!.workerId))].join(", ")}`);
  });

  it("history is the room's last messages, newest first, paged backwards with a cursor", async () => {
    const a = await user("hist");
    await a.client.request("chat.Join", { room: "hist" });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await a.client.request("chat.Say", { room: "hist", text: `line ${i}` })).id);
    const p1 = await a.client.request("chat.History", { room: "hist", limit: 3 });
    expect(p1.messages.map((m) => m.text)).toEqual(["line 6", "line 5", "line 4"]);
    expect(p1.messages.map((m) => m.id)).toEqual([ids[6], ids[5], ids[4]]);
    const p2 = await a.client.request("chat.History", { room: "hist", limit: 3, before: p1.before });
    expect(p2.messages.map((m) => m.text)).toEqual(["line 3", "line 2", "line 1"]);
    const p3 = await a.client.request("chat.History", { room: "hist", limit: 3, before: p2.before });
    expect(p3.messages.map((m) => m.text)).toEqual(["line 0"]);
    expect(p3.before).toBe("");
    const bad = await failure(a.client.request("chat.History", { room: "hist", before: "yesterday" }));
    expect(bad.code).toBe("BAD_REQUEST");
    expect(bad.message).toContain("cursor");
  });

  it("refuses bad input with a clear code each, and nothing else is affected", async () => {
    const [a, b] = [await user("bad"), await user("bad")];
    await a.client.request("chat.Join", { room: "bad" });
    await b.client.request("chat.Join", { room: "bad" });
    const empty = await failure(a.client.request("chat.Say", { room: "bad", text: "   " }));
    expect([empty.code, empty.message]).toEqual(["BAD_REQUEST", "message text is empty: send 1 or more characters"]);
    const long = await failure(a.client.request("chat.Say", { room: "bad", text: "x".repeat(MAX_TEXT + 1) }));
    expect([long.code, long.message]).toEqual(["BAD_REQUEST", `message text is ${MAX_TEXT + 1} characters long; at most ${MAX_TEXT} are allowed`]);
    const name = await failure(a.client.request("chat.Join", { room: "no spaces" }));
    expect(name.code).toBe("BAD_REQUEST");
    const outsider = await failure(a.client.request("chat.Say", { room: "elsewhere", text: "hi" }));
    expect([outsider.code, outsider.message]).toEqual(["FORBIDDEN", "you are not a member of room elsewhere: chat.Join it first"]);
    const notIn = await failure(a.client.request("chat.Leave", { room: "elsewhere" }));
    expect(notIn.code).toBe("NOT_FOUND");
    const unknown = await failure(a.client.request("chat.Tell", { toUid: "u-nobody", text: "hi" }));
    expect([unknown.code, unknown.message]).toEqual(["NOT_FOUND", 'no user has uid "u-nobody": check the uid']);
    const self = await failure(a.client.request("chat.Tell", { toUid: a.uid, text: "hi" }));
    expect(self.code).toBe("BAD_REQUEST");
    const anon = await cluster.client(0);
    expect((await failure(anon.request("chat.Join", { room: "bad" }))).code).toBe("UNAUTHENTICATED");

    // The limit counts Say and Tell together, across both chat instances; refused ones do not count.
    for (let i = 0; i < PER_WINDOW - 1; i++) await a.client.request("chat.Say", { room: "bad", text: `n${i}` });
    await a.client.request("chat.Tell", { toUid: b.uid, text: "last one" });
    const limited = await failure(a.client.request("chat.Say", { room: "bad", text: "one too many" }));
    expect(limited.code).toBe("RATE_LIMITED");
    expect(limited.message).toMatch(new RegExp(`^you sent ${PER_WINDOW} messages in 60 s: wait \\d+ s before sending again$`));
    expect((await failure(a.client.request("chat.Tell", { toUid: b.uid, text: "also" }))).code).toBe("RATE_LIMITED");
    // b is not affected by a's limit
    const heard = nextPush<chat.RoomMessage>(a.client, "chat.RoomMessage");
    await b.client.request("chat.Say", { room: "bad", text: "still fine" });
    expect((await heard).text).toBe("still fine");
  });

  it("admin routes: refused to clients, trusted callers mute and ban; a banned member is out and may not join", async () => {
    const [a, b] = [await user("mod"), await user("mod")];
    for (const u of [a, b]) await u.client.request("chat.Join", { room: "modroom" });
    const refused = await failure(b.client.request("chat.Mute", { room: "modroom", uid: a.uid, seconds: 60 }));
    expect(refused.code).toBe("FORBIDDEN");
    expect(refused.message).toContain("admin route");

    const rt = trustedHost().runtime;
    await rt.call("chat.Mute", { room: "modroom", uid: a.uid, seconds: 60 });
    const muted = await failure(a.client.request("chat.Say", { room: "modroom", text: "hi" }));
    expect(muted.code).toBe("FORBIDDEN");
    expect(muted.message).toMatch(/^you are muted in room modroom for (59|60) more s$/);
    await rt.call("chat.Unmute", { room: "modroom", uid: a.uid });
    await a.client.request("chat.Say", { room: "modroom", text: "unmuted" });
    await expect(rt.call("chat.Mute", { room: "modroom", uid: a.uid, seconds: 0 })).rejects.toMatchObject({ code: "BAD_REQUEST" });

    const bHears = collectPushes<chat.RoomMessage>(b.client, "chat.RoomMessage");
    await rt.call("chat.Ban", { room: "modroom", uid: b.uid, seconds: 0 });
    const members = await a.client.request("chat.Members", { room: "modroom" });
    expect(members.members.map((m) => m.uid)).toEqual([a.uid]);
    await a.client.request("chat.Say", { room: "modroom", text: "b is gone" });
    await settle(b);
    expect(bHears).toEqual([]);
    const banned = await failure(b.client.request("chat.Join", { room: "modroom" }));
    expect([banned.code, banned.message]).toEqual(["FORBIDDEN", "you are banned from room modroom until an admin lifts the ban"]);
    expect((await failure(b.client.request("chat.Say", { room: "modroom", text: "x" }))).code).toBe("FORBIDDEN");
    await rt.call("chat.Unban", { room: "modroom", uid: b.uid });
    expect((await b.client.request("chat.Join", { room: "modroom" })).members).toBe(2);
  });

  it("a member whose session ends leaves its rooms", async () => {
    const [a, b] = [await user("gone"), await user("gone")];
    for (const u of [a, b]) await u.client.request("chat.Join", { room: "gone" });
    await b.client.close();
    const deadline = Date.now() + 5_000;
    let uids: string[] = [];
    while (Date.now() < deadline) {
      uids = (await a.client.request("chat.Members", { room: "gone" })).members.map((m) => m.uid);
      if (uids.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(uids).toEqual([a.uid]);
  });

  it("private messages: pushed at once to an online receiver on another gateway, kept until acknowledged", async () => {
    const [a, b] = [await user("pm", 0), await user("pm", 1)];
    const pushed = nextPush<chat.PrivateMessage>(b.client, "chat.PrivateMessage");
    const sent = await a.client.request("chat.Tell", { toUid: b.uid, text: "psst" });
    expect(await pushed).toEqual({ id: sent.id, seq: sent.seq, fromUid: a.uid, fromUsername: a.name, toUid: b.uid, text: "psst", sentAt: sent.sentAt });
    expect(sent.seq).toBe(1);
    // Not acknowledged yet: Inbox still has it.
    expect((await b.client.request("chat.Inbox", {})).messages.map((m) => m.id)).toEqual([sent.id]);
    expect(await b.client.request("chat.Ack", { upToSeq: sent.seq })).toEqual({ remaining: 0 });
    expect(await b.client.request("chat.Inbox", {})).toEqual({ messages: [], more: false });
  });

  it("offline messages are delivered at the next login in order, exactly once with acknowledgements", async () => {
    const a = await user("off", 0);
    const bName = uniqueName("off");
    const first = await cluster.loggedInClient(bName, 1);
    const bUid = first.uid;
    await first.client.close();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await a.client.request("chat.Tell", { toUid: bUid, text: `offline ${i}` })).id);

    const b = await cluster.client(0);
    await b.request("login.Login", { username: bName, password: "password-1" });
    const p1 = await b.request("chat.Inbox", { limit: 4 });
    expect(p1.messages.map((m) => [m.seq, m.text])).toEqual([1, 2, 3, 4].map((s) => [s, `offline ${s - 1}`]));
    expect(p1.messages.map((m) => m.id)).toEqual(ids.slice(0, 4));
    expect(p1.more).toBe(true);
    // The client acknowledges the first two only; the rest is delivered again.
    expect((await b.request("chat.Ack", { upToSeq: 2 })).remaining).toBe(4);
    const again = await b.request("chat.Inbox", {});
    expect(again.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    expect(again.more).toBe(false);
    const after = await b.request("chat.Inbox", { afterSeq: 4 });
    expect(after.messages.map((m) => m.text)).toEqual(["offline 4", "offline 5"]);
    await b.request("chat.Ack", { upToSeq: 6 });
    expect((await b.request("chat.Inbox", {})).messages).toEqual([]);
  });

  it("conversation history between two users, newest first, paged", async () => {
    const [a, b] = [await user("conv"), await user("conv")];
    await a.client.request("chat.Tell", { toUid: b.uid, text: "one" });
    await b.client.request("chat.Tell", { toUid: a.uid, text: "two" });
    await a.client.request("chat.Tell", { toUid: b.uid, text: "three" });
    const p1 = await b.client.request("chat.Conversation", { withUid: a.uid, limit: 2 });
    expect(p1.messages.map((m) => [m.fromUid, m.text])).toEqual([
      [a.uid, "three"],
      [b.uid, "two"],
    ]);
    const p2 = await a.client.request("chat.Conversation", { withUid: b.uid, limit: 2, before: p1.before });
    expect(p2.messages.map((m) => m.text)).toEqual(["one"]);
    expect(p2.before).toBe("");
  });

  it("a blocked sender gets a neutral FORBIDDEN, and the receiver gets nothing", async () => {
    const [a, b] = [await user("blk"), await user("blk")];
    await b.client.request("social.Block", { uid: a.uid });
    const inbox = collectPushes<chat.PrivateMessage>(b.client, "chat.PrivateMessage");
    const refused = await failure(a.client.request("chat.Tell", { toUid: b.uid, text: "hey" }));
    expect([refused.code, refused.message]).toEqual(["FORBIDDEN", "you cannot send private messages to this user"]);
    await settle(b);
    expect(inbox).toEqual([]);
    expect((await b.client.request("chat.Inbox", {})).messages).toEqual([]);
    await b.client.request("social.Unblock", { uid: a.uid });
    const delivered = nextPush<chat.PrivateMessage>(b.client, "chat.PrivateMessage", (m) => m.text === "hey again");
    await a.client.request("chat.Tell", { toUid: b.uid, text: "hey again" });
    await delivered;
  });
});
