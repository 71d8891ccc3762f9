import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import loginModule from "../../modules/login/index.js";

describe("kill -9 of redis-server loses no acknowledged write", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({ modules: [{ def: loginModule, instances: 2 }] });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("every account whose Register was answered can log in after redis-server is killed and restarted", async () => {
    const c = await cluster.client();
    const names = Array.from({ length: 60 }, (_, i) => `durable-${i}`);
    const uids = await Promise.all(names.map((username) => c.request("login.Register", { username, password: "password-1" }).then((r) => r.uid)));
    expect(new Set(uids).size).toBe(60);

    // same flags as the master's embedded redis: append-only file, default fsync policy
    cluster.redis.process.kill("SIGKILL");
    await cluster.redis.restart();

    // modules reconnect by themselves; until then calls fail fast with UNAVAILABLE
    const deadline = Date.now() + 15_000;
    let logins: string[] = [];
    for (;;) {
      try {
        logins = await Promise.all(names.map((username) => c.request("login.Login", { username, password: "password-1" }).then((r) => r.uid)));
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== "UNAVAILABLE" || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(logins).toEqual(uids);
  });
});
