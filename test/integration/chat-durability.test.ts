import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import loginModule from "../../modules/login/index.js";
import chatModule from "../../modules/chat/index.js";

/** Retries `fn` while it fails with UNAVAILABLE (modules reconnecting to Redis), up to 15 s. */
async function whileUnavailable<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== "UNAVAILABLE" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("kill -9 of redis-server loses no acknowledged chat message", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: chatModule, instances: 2 },
      ],
      gateways: 2,
      config: { modules: { login: { instances: 2, settings: { scryptN: 1024 } }, chat: { instances: 2, settings: { maxMessagesPerWindow: 1_000 } } } },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("every Tell answered before the kill is in the receiver's inbox and the conversation, every Say in the room history", async () => {
    const sender = await cluster.loggedInClient("keeper", 0);
    const receiver = await cluster.loggedInClient("reader", 1);
    await receiver.client.close();
    const tells = await Promise.all(Array.from({ length: 40 }, (_, i) => sender.client.request("chat.Tell", { toUid: receiver.uid, text: `kept ${i}` })));
    await sender.client.request("chat.Join", { room: "durable" });
    const says: string[] = [];
    for (let i = 0; i < 10; i++) says.push((await sender.client.request("chat.Say", { room: "durable", text: `said ${i}` })).id);

    // same flags as the master's embedded redis: append-only file, default fsync policy
    cluster.redis.process.kill("SIGKILL");
    await cluster.redis.restart();

    const again = await cluster.client(0);
    await whileUnavailable(() => again.request("login.Login", { username: "reader", password: "password-1" }));
    const inbox = await whileUnavailable(() => again.request("chat.Inbox", {}));
    const bySeq = [...tells].sort((x, y) => x.seq - y.seq);
    expect(inbox.messages.map((m) => [m.seq, m.id])).toEqual(bySeq.map((t) => [t.seq, t.id]));
    expect(new Set(inbox.messages.map((m) => m.text)).size).toBe(40);
    const conv = await again.request("chat.Conversation", { withUid: sender.uid, limit: 100 });
    expect(conv.messages.map((m) => m.id).sort()).toEqual(tells.map((t) => t.id).sort());
    const history = await again.request("chat.History", { room: "durable", limit: 100 });
    expect(history.messages.map((m) => m.id)).toEqual([...says].reverse());
  }, 30_000);
});
