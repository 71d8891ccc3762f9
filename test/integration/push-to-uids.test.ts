import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { gatewayCommandSubject } from "../../src/bus/subjects.js";
import type { cluster as clusterProto, team } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import type { ModuleHost } from "../../src/module/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { collectPushes, nextPush } from "../helpers/pushes.js";
import loginModule from "../../modules/login/index.js";
import teamModule from "../../modules/team/index.js";

const ROUTE = "team.ChatMessage";

describe("pushToUids: one push command per gateway holding the uids (2 gateways)", () => {
  let cluster: TestCluster;
  let nc: NatsConnection;
  let teamHost: ModuleHost;
  /** Push commands seen per gateway id, with the sids each listed. */
  const commands = new Map<string, number[][]>();
  const users: { client: Client; uid: string; gateway: number; got: team.ChatMessage[] }[] = [];

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 1 },
        { def: teamModule, instances: 1 },
      ],
      gateways: 2,
      config: { modules: { login: { instances: 1, settings: { scryptN: 1024 } } } },
    });
    teamHost = cluster.modules.find((m) => m.runtime.name === "team")!;
    nc = await connect({ servers: cluster.nats.url });
    const codec = loadProto().message<clusterProto.GatewayCommand>("cluster.GatewayCommand");
    for (const gw of cluster.gateways) {
      commands.set(gw.id, []);
      nc.subscribe(gatewayCommandSubject(gw.id), {
        callback: (_err, msg) => {
          const cmd = codec.decode(msg.data);
          if (cmd.push) commands.get(gw.id)!.push([...cmd.push.sids]);
        },
      });
    }
    await nc.flush();
    // three users on gateway 0, two on gateway 1
    for (const [i, gateway] of [0, 0, 0, 1, 1].entries()) {
      const { client, uid } = await cluster.loggedInClient(`many${i}`, gateway);
      users.push({ client, uid, gateway, got: collectPushes<team.ChatMessage>(client, ROUTE) });
    }
  });

  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it("pushes once to each online uid with one command per gateway, and names the offline ones", async () => {
    const uids = users.map((u) => u.uid);
    // a duplicate and an unknown uid: pushed once / reported offline
    const offline = await teamHost.runtime.pushToUids([...uids, uids[0]!, "no-such-uid"], ROUTE, { teamId: "t1", text: "first" });
    expect(offline).toEqual(["no-such-uid"]);
    // A second, later push proves nothing more of the first one is on its way (same command subject, same order).
    const marks = users.map((u) => nextPush<team.ChatMessage>(u.client, ROUTE, (m) => m.text === "second"));
    expect(await teamHost.runtime.pushToUids(uids, ROUTE, { teamId: "t1", text: "second" })).toEqual([]);
    await Promise.all(marks);
    for (const u of users) expect(u.got.map((m) => m.text)).toEqual(["first", "second"]);
    await nc.flush();
    const gw0 = commands.get(cluster.gateways[0]!.id)!;
    const gw1 = commands.get(cluster.gateways[1]!.id)!;
    expect(gw0).toHaveLength(2);
    expect(gw1).toHaveLength(2);
    expect(gw0[0]).toHaveLength(3);
    expect(gw1[0]).toHaveLength(2);
  });

  it("publishes nothing when every uid is offline or the list is empty", async () => {
    const before = [...commands.values()].reduce((n, c) => n + c.length, 0);
    expect(await teamHost.runtime.pushToUids([], ROUTE, { text: "x" })).toEqual([]);
    expect(await teamHost.runtime.pushToUids(["gone-1", "gone-2"], ROUTE, { text: "x" })).toEqual(["gone-1", "gone-2"]);
    // one more real push: the command subjects are ordered, so anything published above would be seen first
    const mark = nextPush<team.ChatMessage>(users[0]!.client, ROUTE, (m) => m.text === "after");
    await teamHost.runtime.pushToUids([users[0]!.uid], ROUTE, { text: "after" });
    await mark;
    await nc.flush();
    expect([...commands.values()].reduce((n, c) => n + c.length, 0)).toBe(before + 1);
  });

  it("refuses an undeclared push route before looking anything up", async () => {
    await expect(teamHost.runtime.pushToUids([users[0]!.uid], "team.NoSuchPush", {})).rejects.toThrow(/push route "team.NoSuchPush" is not declared/);
  });
});
