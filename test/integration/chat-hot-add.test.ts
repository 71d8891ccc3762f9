import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import type { chat } from "../../src/generated/proto.js";
import { ctl, ctlStatus, loggedIn, startOpsCluster, stopOpsCluster, type CliProcess } from "../helpers/ops.js";
import { nextPush } from "../helpers/pushes.js";

describe("ctl add chat: the standard chat module hot-added to a cluster started without it", () => {
  let dir: string;
  let master: CliProcess;
  let config: string;
  let ann: Client;
  let bob: Client;
  const pids = new Set<number>();

  beforeAll(async () => {
    const ops = await startOpsCluster("sy-chat-add-", { modules: { login: { instances: 1, settings: { scryptN: 1024 } } } }, pids);
    dir = ops.dir;
    master = ops.master;
    config = ops.config;
    [ann, bob] = [await loggedIn(ops.gwPort, "ann"), await loggedIn(ops.gwPort, "bob")];
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients: [ann, bob] }));

  it("is UNAVAILABLE before, then serves rooms through the gateway that kept running, on 2 instances", async () => {
    const before = await ctlStatus(config);
    const gateway = before.instances.find((r) => r.module === "gateway")!;
    await expect(ann.request("chat.Join", { room: "world" })).rejects.toMatchObject({ code: "UNAVAILABLE" });

    const added = await ctl(config, ["add", "chat"]);
    expect(added.stderr).toBe("");
    expect(added.stdout).toMatch(/^added chat: 1 instance answering\n {2}\+ chat-[0-9a-f]{4} \(chat\/0, v1\.0\.0, host .+\)\n$/);
    expect((await ctl(config, ["scale", "chat", "2"])).stdout).toBe("chat: 1 -> 2 instances (+chat/1)\n");
    const after = await ctlStatus(config);
    for (const r of after.instances.filter((i) => i.module === "chat")) pids.add(r.pid!);
    // the same gateway process as before
    expect(after.instances.find((r) => r.module === "gateway")).toMatchObject({ instance: gateway.instance, pid: gateway.pid });

    await ann.request("chat.Join", { room: "world" });
    await bob.request("chat.Join", { room: "world" });
    const heard = nextPush<chat.RoomMessage>(bob, "chat.RoomMessage");
    const sent = await ann.request("chat.Say", { room: "world", text: "hello from a hot-added module" });
    expect(await heard).toMatchObject({ id: sent.id, room: "world", fromUsername: "ann", text: "hello from a hot-added module" });
  }, 60_000);
});
