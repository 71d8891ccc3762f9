import { trustedServiceSubject } from "../../src/bus/subjects.js";
import { trustedCallHeaders } from "../../src/module/runtime.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as natsConnect, type NatsConnection } from "nats";
import type { Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { ReplyMux } from "../../src/bus/reply-mux.js";
import { loadProto } from "../../src/proto/registry.js";
import type { login } from "../../src/generated/proto.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import echoModule from "../../modules/echo/index.js";
import loginModule from "../../modules/login/index.js";
import { failure } from "../helpers/failure.js";

/** Resolves with the kick a client receives (code and message). */
function nextKick(c: Client): Promise<{ code: string; message: string }> {
  return new Promise((resolve) => c.onKick((code, message) => resolve({ code, message })));
}

describe("login module: sessions, tokens, bans, maintenance (2 login instances, 2 gateways)", () => {
  let cluster: TestCluster;
  let nc: NatsConnection;
  let mux: ReplyMux;
  const registry = loadProto();

  /** Calls a login admin route from inside the cluster, as ctl does (no client session). */
  async function admin<Req, Res>(method: string, req: Partial<Req>): Promise<Res> {
    const codec = registry.route<Req, Res>(`login.${method}`)!;
    const reply = await mux.request(trustedServiceSubject("login", method), codec.request.encode(req), trustedCallHeaders("ctl/test", null, null));
    return codec.response.decode(reply.data);
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: echoModule, instances: 1 },
      ],
      gateways: 2,
      config: {
        modules: {
          login: { instances: 2, settings: { scryptN: 1024, maxFailedLogins: 3, failedLoginWindowSeconds: 30, admins: [] } },
          echo: { instances: 1 },
        },
        gateway: { ...DEFAULT_CONFIG.gateway },
      },
    });
    nc = await natsConnect({ servers: cluster.nats.url });
    mux = new ReplyMux(nc, "test-ctl");
  });

  afterAll(async () => {
    mux?.close();
    await nc?.close();
    await cluster?.stop();
  });

  it("validates usernames and passwords, and refuses a taken username with CONFLICT", async () => {
    const c = await cluster.client();
    expect((await failure(c.request("login.Register", { username: "a", password: "long-enough" }))).code).toBe("BAD_REQUEST");
    expect((await failure(c.request("login.Register", { username: "bad name!", password: "long-enough" }))).code).toBe("BAD_REQUEST");
    expect((await failure(c.request("login.Register", { username: "shorty", password: "short" }))).code).toBe("BAD_REQUEST");
    await c.request("login.Register", { username: "taken", password: "long-enough" });
    const dup = await failure(c.request("login.Register", { username: "TAKEN", password: "long-enough" }));
    expect(dup.code).toBe("CONFLICT");
  });

  it("Resume with the token binds a new connection; Logout revokes the token and unbinds", async () => {
    const { client, uid, token } = await cluster.loggedInClient("resumer");
    await client.close();
    const again = await cluster.client(1);
    const resumed = await again.request("login.Resume", { token });
    expect(resumed.uid).toBe(uid);
    expect((await again.request("echo.WhoAmI", {})).uid).toBe(uid);
    await again.request("login.Logout", { token });
    expect((await failure(again.request("echo.WhoAmI", {}))).code).toBe("UNAUTHENTICATED");
    const third = await cluster.client();
    const revoked = await failure(third.request("login.Resume", { token }));
    expect(revoked.code).toBe("UNAUTHENTICATED");
    expect(revoked.message).toContain("log in");
  });

  it("names the least-loaded gateway in the login reply", async () => {
    // load gw-1 with clearly more sessions, then let the login instances' directories refresh
    for (let i = 0; i < 6; i++) await cluster.client(0);
    const { client } = await cluster.loggedInClient("lb-user");
    expect(cluster.gateways[0]!.sessionCount).toBeGreaterThan(cluster.gateways[1]!.sessionCount + 4);
    const gw2 = cluster.config.gateways[1]!;
    // until the login instances' gateway directories refreshed (bounded: they refresh every 2 s)
    let r = await client.request("login.Login", { username: "lb-user", password: "password-1" });
    for (let i = 0; i < 50 && r.gateway?.id !== gw2.id; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await client.request("login.Login", { username: "lb-user", password: "password-1" });
    }
    expect(r.gateway).toEqual({ id: gw2.id, host: gw2.host, port: gw2.port });
  });

  it("one session per uid: a second login kicks the first with a reason", async () => {
    const { client: first } = await cluster.loggedInClient("solo");
    const kicked = nextKick(first);
    const second = await cluster.client(1);
    await second.request("login.Login", { username: "solo", password: "password-1" });
    const k = await kicked;
    expect(k.message).toContain("another connection");
    expect(await first.closed).not.toBeNull();
    expect((await second.request("echo.WhoAmI", {})).gatewayId).toBe("gw-2");
  });

  it("two logins of one uid racing on two gateways leave exactly one bound session", async () => {
    const setup = await cluster.client();
    await setup.request("login.Register", { username: "racer", password: "password-1" });
    for (let round = 0; round < 5; round++) {
      const a = await cluster.client(0);
      const b = await cluster.client(1);
      const results = await Promise.allSettled([
        a.request("login.Login", { username: "racer", password: "password-1" }),
        b.request("login.Login", { username: "racer", password: "password-1" }),
      ]);
      // until the losing connection is closed (bounded), so the count below is final
      for (let i = 0; i < 100 && !a.isClosed && !b.isClosed; i++) await new Promise((r) => setTimeout(r, 20));
      const alive = [a, b].filter((c) => !c.isClosed);
      expect(alive.length, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`).toBe(1);
      const me = await alive[0]!.request("echo.WhoAmI", {});
      expect(me.uid).toMatch(/^u\d+$/);
      await alive[0]!.close();
    }
  });

  it("wrong passwords are rate-limited per username", async () => {
    const c = await cluster.client();
    await c.request("login.Register", { username: "guessme", password: "the-right-one" });
    for (let i = 0; i < 3; i++) {
      expect((await failure(c.request("login.Login", { username: "guessme", password: `wrong-${i}-xx` }))).code).toBe("UNAUTHENTICATED");
    }
    const limited = await failure(c.request("login.Login", { username: "guessme", password: "the-right-one" }));
    expect(limited.code).toBe("RATE_LIMITED");
    expect(limited.message).toMatch(/wait \d+ s/);
  });

  it("a banned uid is kicked when online and cannot log in; unban restores it", async () => {
    const { client, uid } = await cluster.loggedInClient("villain");
    const kicked = nextKick(client);
    await admin<login.BanRequest, login.Empty>("Ban", { uid, reason: "cheating" });
    expect((await kicked).message).toContain("cheating");
    const c = await cluster.client();
    const refused = await failure(c.request("login.Login", { username: "villain", password: "password-1" }));
    expect(refused.code).toBe("FORBIDDEN");
    await admin<login.BanRequest, login.Empty>("Unban", { uid });
    expect((await c.request("login.Login", { username: "villain", password: "password-1" })).uid).toBe(uid);
  });

  it("admin routes are FORBIDDEN to players", async () => {
    const { client, uid } = await cluster.loggedInClient("player-x");
    expect((await failure(client.request("login.Ban", { uid }))).code).toBe("FORBIDDEN");
    expect((await failure(client.request("login.SetMaintenance", { enabled: true }))).code).toBe("FORBIDDEN");
  });

  it("login.Usernames answers other modules the names of uids in order, \"\" for none; players get FORBIDDEN", async () => {
    const { client, uid: ann } = await cluster.loggedInClient("Ann-Names");
    const { uid: bo } = await cluster.loggedInClient("bo.names");
    const reply = await admin<login.UsernamesRequest, login.UsernamesReply>("Usernames", { uids: [bo, "u-none", ann, bo] });
    expect(reply.usernames).toEqual(["bo.names", "", "Ann-Names", "bo.names"]);
    expect((await admin<login.UsernamesRequest, login.UsernamesReply>("Usernames", { uids: [] })).usernames).toEqual([]);
    const tooMany = await failure(admin("Usernames", { uids: Array.from({ length: 1001 }, (_, i) => `u${i}`) }));
    expect([tooMany.code, tooMany.message]).toEqual(["BAD_REQUEST", "login.Usernames takes at most 1000 uids, got 1001: split the request (ctl asked)"]);
    expect((await failure(client.request("login.Usernames", { uids: [ann] }))).code).toBe("FORBIDDEN");
  });

  it("maintenance mode lets only whitelisted uids log in, switchable at runtime", async () => {
    const { uid: staff } = await cluster.loggedInClient("staff");
    await cluster.loggedInClient("regular");
    const state = await admin<login.MaintenanceRequest, login.MaintenanceState>("SetMaintenance", { enabled: true, whitelist: [staff] });
    expect(state).toMatchObject({ enabled: true, whitelist: [staff] });
    try {
      const c = await cluster.client();
      const refused = await failure(c.request("login.Login", { username: "regular", password: "password-1" }));
      expect(refused.code).toBe("UNAVAILABLE");
      expect(refused.message).toContain("maintenance");
      expect((await c.request("login.Login", { username: "staff", password: "password-1" })).uid).toBe(staff);
    } finally {
      await admin<login.MaintenanceRequest, login.MaintenanceState>("SetMaintenance", { enabled: false });
    }
    const c2 = await cluster.client();
    expect((await c2.request("login.Login", { username: "regular", password: "password-1" })).uid).toMatch(/^u/);
  });
});
