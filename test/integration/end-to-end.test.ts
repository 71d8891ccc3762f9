import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import echoModule from "../../modules/echo/index.js";
import loginModule from "../../modules/login/index.js";
import { failure } from "../helpers/failure.js";

describe("client → gateway → NATS → module, end to end", () => {
  let cluster: TestCluster;
  let anon: Client;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: echoModule, instances: 1 },
      ],
      // a short module timeout keeps the TIMEOUT case fast; every other call answers in ms
      config: { gateway: { ...DEFAULT_CONFIG.gateway, requestTimeoutMs: 400 } },
    });
    anon = await cluster.client();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("register → login → an authenticated call sees the uid stamped by the gateway", async () => {
    const c = await cluster.client();
    const reg = await c.request("login.Register", { username: "alice", password: "pw-123456" });
    expect(reg.uid).toMatch(/^u\d+$/);
    const login = await c.request("login.Login", { username: "alice", password: "pw-123456" });
    expect(login.uid).toBe(reg.uid);
    expect(login.token.length).toBeGreaterThan(20);
    expect(login.expiresAt).toBeGreaterThan(Date.now());
    const me = await c.request("echo.WhoAmI", {});
    expect(me.uid).toBe(reg.uid);
    expect(me.gatewayId).toBe("gw-1");
    expect(me.sid).toBeGreaterThan(0);
  });

  it("stores passwords as scrypt hashes, never in plain text", async () => {
    await anon.request("login.Register", { username: "bob", password: "secret-pass-1" });
    const redis = (await import("ioredis")).Redis;
    const r = new redis(cluster.redis.url);
    try {
      const keys = await r.keys("sy:login:account:*");
      const all = await Promise.all(keys.map((k) => r.hgetall(k)));
      const bob = all.find((a) => a.username === "bob")!;
      expect(bob.password).toMatch(/^scrypt\$/);
      expect(JSON.stringify(all)).not.toContain("secret-pass-1");
    } finally {
      r.disconnect();
    }
  });

  it("a non-public route before login is UNAUTHENTICATED and never reaches the module", async () => {
    const c = await cluster.client();
    const err = await failure(c.request("echo.WhoAmI", {}));
    expect(err.code).toBe("UNAUTHENTICATED");
  });

  it("wrong credentials are UNAUTHENTICATED with the same message for unknown users", async () => {
    await anon.request("login.Register", { username: "carol", password: "right-password" });
    const wrong = await failure(anon.request("login.Login", { username: "carol", password: "wrong-password" }));
    const unknown = await failure(anon.request("login.Login", { username: "nobody-here", password: "whatever1" }));
    expect(wrong.code).toBe("UNAUTHENTICATED");
    expect(unknown.code).toBe("UNAUTHENTICATED");
    expect(wrong.message).toBe(unknown.message);
  });

  it("an unknown method of a running module is NOT_FOUND; a module that is not running is UNAVAILABLE at once", async () => {
    const { client } = await cluster.loggedInClient("dave");
    const nf = await failure(client.requestRaw("echo.NoSuchMethod", new Uint8Array(0)));
    expect(nf.code).toBe("NOT_FOUND");
    const t0 = performance.now();
    const un = await failure(client.requestRaw("mail.Send", new Uint8Array(0)));
    // UNAVAILABLE can only come from nats-server's immediate no-responders status: waiting for the
    // gateway's deadline would have produced TIMEOUT. The time is printed, not asserted.
    expect(un.code).toBe("UNAVAILABLE");
    expect(un.message).toContain("mail");
    console.log(`module not running: UNAVAILABLE after ${(performance.now() - t0).toFixed(1)} ms`);
  });

  it("a handler slower than the gateway's timeout yields TIMEOUT, and the connection keeps working", async () => {
    const { client } = await cluster.loggedInClient("erin");
    const gw = cluster.gateways[0]!;
    const err = await failure(client.request("echo.Sleep", { ms: 1_000 }));
    expect(err.code).toBe("TIMEOUT");
    expect(err.message).toContain("400 ms");
    const ok = await client.request("echo.Echo", { text: "still here" });
    expect(ok.text).toBe("still here");
    expect(gw.state).toBe("ready");
  });

  it("bad protobuf in a request body is BAD_REQUEST from the module", async () => {
    const { client } = await cluster.loggedInClient("frank");
    const err = await failure(client.requestRaw("echo.Echo", new Uint8Array([0x0a, 0xff, 0x01])));
    expect(err.code).toBe("BAD_REQUEST");
  });
});
