import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createRedisClient } from "../../src/redis/index.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import type { login } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { PacketKind, type Packet } from "../../src/protocol/packet.js";
import loginModule from "../../modules/login/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { failure } from "../helpers/failure.js";
import { RawClient } from "./gateway-raw-client.js";

const proto = loadProto();
const registerCodec = proto.message<login.RegisterRequest>("login.RegisterRequest");
const loginCodec = proto.message<login.LoginRequest>("login.LoginRequest");
const resumeCodec = proto.message<login.ResumeRequest>("login.ResumeRequest");

/** ERROR packets with id 0 (refused NOTIFYs) received so far, removed from the client's list. */
function takeNotifyErrors(c: RawClient): Packet[] {
  const out: Packet[] = [];
  for (let i = c.packets.length - 1; i >= 0; i--) {
    const p = c.packets[i]!;
    if (p.kind === PacketKind.ERROR && p.id === 0) out.unshift(...c.packets.splice(i, 1));
  }
  return out;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("login under attack: scrypt exhaustion and Redis filling (real scrypt cost, one login instance)", () => {
  let cluster: TestCluster;
  let redis: Redis;
  const raws: RawClient[] = [];

  async function raw(localAddress?: string): Promise<RawClient> {
    const c = await RawClient.connect(cluster.gateways[0]!.address().port, localAddress);
    raws.push(c);
    return c;
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [{ def: loginModule, instances: 1 }],
      // the production scrypt cost and hash cap: the work the attack tries to pile up is real
      config: { modules: { login: { instances: 1, settings: { scryptN: 16384, maxConcurrentHashes: 4 } } }, gateway: { ...DEFAULT_CONFIG.gateway } },
    });
    redis = createRedisClient(cluster.config.redis);
  });

  afterAll(async () => {
    for (const c of raws) c.close();
    redis?.disconnect();
    await cluster?.stop();
  });

  it("NOTIFY login.Register floods with a taken name (8 connections × 19 per 100 ms for 3 s) do not stop a victim's logins", { timeout: 60_000 }, async () => {
    const setup = await cluster.client();
    await setup.request("login.Register", { username: "taken-name", password: "password-1" });
    await setup.request("login.Register", { username: "victim", password: "victim-pass-1" });
    const attackers = await Promise.all(Array.from({ length: 8 }, () => raw()));
    const body = registerCodec.encode({ username: "taken-name", password: "p".repeat(256) });
    let attacking = true;
    let sent = 0;
    const attack = (async () => {
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        for (const a of attackers) for (let i = 0; i < 19; i++, sent++) a.send(PacketKind.NOTIFY, 0, "login.Register", body);
        await new Promise((r) => setTimeout(r, 100));
      }
      attacking = false;
    })();
    const victim = await cluster.client();
    let logins = 0;
    while (attacking) {
      const r = await victim.request("login.Login", { username: "victim", password: "victim-pass-1" });
      expect(r.uid).not.toBe("");
      logins++;
    }
    await attack;
    // every notify is answered (a refusal each: the name is taken, or the connection has too many in flight)
    const errors: Packet[] = [];
    await waitFor(() => {
      for (const a of attackers) errors.push(...takeNotifyErrors(a));
      return errors.length === sent;
    }, `an ERROR for each of the ${sent} notifies`);
    const codes = new Set(errors.map((e) => e.code));
    expect([...codes].every((c) => c === ErrorCode.CONFLICT || c === ErrorCode.RATE_LIMITED)).toBe(true);
    expect(errors.filter((e) => e.code === ErrorCode.CONFLICT).length).toBeGreaterThan(0);
    expect(logins).toBeGreaterThan(0);
    console.log(`scrypt-exhaustion replay: ${sent} notifies → ${errors.filter((e) => e.code === ErrorCode.CONFLICT).length} CONFLICT, ${errors.filter((e) => e.code === ErrorCode.RATE_LIMITED).length} RATE_LIMITED; victim logged in ${logins} times, all ok`);
  });

  it("caps concurrent scrypt work per instance: past maxConcurrentHashes, RATE_LIMITED 'login is busy' at once", { timeout: 30_000 }, async () => {
    const clients = await Promise.all(Array.from({ length: 16 }, () => raw()));
    const replies = await Promise.all(clients.map((c, i) => c.request(1, "login.Register", registerCodec.encode({ username: `fresh-${i}`, password: "password-1" }), 10_000)));
    const busy = replies.filter((r) => r.kind === PacketKind.ERROR);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) expect(r).toMatchObject({ code: ErrorCode.RATE_LIMITED, message: "login is busy: retry in a moment" });
    expect(replies.filter((r) => r.kind === PacketKind.RESPONSE).length).toBeGreaterThanOrEqual(4);
  });

  it("60 KB usernames, passwords and tokens are refused BAD_REQUEST / UNAUTHENTICATED without a Redis write", { timeout: 60_000 }, async () => {
    const keysBefore = await redis.dbsize();
    const c = await raw();
    const huge = "x".repeat(60 * 1024);
    const bodies: [string, Uint8Array, number][] = [
      ["login.Login", loginCodec.encode({ username: huge, password: "password-1" }), ErrorCode.BAD_REQUEST],
      ["login.Login", loginCodec.encode({ username: "victim", password: huge }), ErrorCode.BAD_REQUEST],
      ["login.Register", registerCodec.encode({ username: huge, password: "password-1" }), ErrorCode.BAD_REQUEST],
      ["login.Resume", resumeCodec.encode({ token: huge }), ErrorCode.UNAUTHENTICATED],
    ];
    let sent = 0;
    const errors: Packet[] = [];
    // 300 notifies, 50 at a time (under the in-flight cap and the token bucket)
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 50; i++, sent++) {
        const [route, body] = bodies[sent % bodies.length]!;
        c.send(PacketKind.NOTIFY, 0, route, body);
      }
      await waitFor(() => {
        errors.push(...takeNotifyErrors(c));
        return errors.length === sent;
      }, "the notifies' errors");
    }
    for (let i = 0; i < errors.length; i++) expect(errors[i]!.code).toBe(bodies[i % bodies.length]![2]);
    expect(await redis.dbsize()).toBe(keysBefore);
    expect(await redis.keys("*xxxxxxxx*")).toEqual([]);
  });
});

describe("per-address limits: lockout, registrations, tokens (addresses 127.0.0.x on loopback)", () => {
  let cluster: TestCluster;
  let redis: Redis;
  const raws: RawClient[] = [];
  let port: number;

  async function raw(localAddress: string): Promise<RawClient> {
    const c = await RawClient.connect(port, localAddress);
    raws.push(c);
    return c;
  }

  async function loginFrom(c: RawClient, id: number, username: string, password: string): Promise<Packet> {
    return c.request(id, "login.Login", loginCodec.encode({ username, password }));
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [{ def: loginModule, instances: 2 }],
      gateways: 2,
      config: {
        modules: {
          login: {
            instances: 2,
            settings: {
              scryptN: 1024,
              maxFailedLogins: 3,
              failedLoginWindowSeconds: 60,
              maxFailedLoginsPerAddress: 8,
              addressFailureWindowSeconds: 120,
              maxRegistrationsPerAddressPerHour: 3,
              maxTokensPerUser: 2,
            },
          },
        },
        gateway: { ...DEFAULT_CONFIG.gateway },
      },
    });
    port = cluster.gateways[0]!.address().port;
    redis = createRedisClient(cluster.config.redis);
  });

  afterAll(async () => {
    for (const c of raws) c.close();
    redis?.disconnect();
    await cluster?.stop();
  });

  it("wrong passwords from another address lock out that address only; the owner still logs in", async () => {
    const owner = await cluster.client();
    await owner.request("login.Register", { username: "owner", password: "owner-pass-1" });
    const attacker = await raw("127.0.0.2");
    const codes: number[] = [];
    for (let i = 1; i <= 5; i++) codes.push((await loginFrom(attacker, i, "owner", "guess-wrong")).code);
    expect(codes).toEqual([ErrorCode.UNAUTHENTICATED, ErrorCode.UNAUTHENTICATED, ErrorCode.UNAUTHENTICATED, ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED]);
    // even the right password is refused from the locked-out address
    const locked = await loginFrom(attacker, 6, "owner", "owner-pass-1");
    expect(locked.code).toBe(ErrorCode.RATE_LIMITED);
    expect(locked.message).toMatch(/^too many failed logins for this username: wait \d+ s and try again$/);
    // the owner, from another address and through the other gateway too, is not locked out
    expect((await owner.request("login.Login", { username: "owner", password: "owner-pass-1" })).uid).not.toBe("");
    const elsewhere = await cluster.client(1);
    expect((await elsewhere.request("login.Login", { username: "owner", password: "owner-pass-1" })).uid).not.toBe("");
  });

  it("failed logins per address overall: guessing across usernames is refused after maxFailedLoginsPerAddress", async () => {
    const guesser = await raw("127.0.0.3");
    const codes: number[] = [];
    // 8 failures over 4 usernames (2 each: under the per-username limit of 3)
    for (let i = 0; i < 8; i++) codes.push((await loginFrom(guesser, i + 1, `someone-${i % 4}`, "guess-wrong")).code);
    expect(codes.every((c) => c === ErrorCode.UNAUTHENTICATED)).toBe(true);
    const refused = await loginFrom(guesser, 100, "someone-new", "guess-wrong");
    expect(refused.code).toBe(ErrorCode.RATE_LIMITED);
    expect(refused.message).toMatch(/^too many failed logins from your address: wait \d+ s and try again$/);
    const other = await raw("127.0.0.4");
    expect((await loginFrom(other, 1, "someone-new", "guess-wrong")).code).toBe(ErrorCode.UNAUTHENTICATED);
    // every counter has a TTL and names a validated username
    const keys = [...(await redis.keys("sy:login:failures:*")), ...(await redis.keys("sy:login:address-failures:*"))];
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(await redis.ttl(k)).toBeGreaterThan(0);
      expect(k.length).toBeLessThan(120);
    }
  });

  it("registrations per address per hour: the 4th from one address is refused, another address still registers", async () => {
    const c = await raw("127.0.0.5");
    const reg = (id: number, username: string) => c.request(id, "login.Register", registerCodec.encode({ username, password: "password-1" }));
    for (let i = 1; i <= 3; i++) expect((await reg(i, `reg-${i}`)).kind).toBe(PacketKind.RESPONSE);
    const fourth = await reg(4, "reg-4");
    expect(fourth.code).toBe(ErrorCode.RATE_LIMITED);
    expect(fourth.message).toMatch(/^too many registrations from your address: try again in \d+ s$/);
    const ttl = await redis.ttl("sy:login:registrations:127.0.0.5");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
    const other = await raw("127.0.0.6");
    expect((await other.request(1, "login.Register", registerCodec.encode({ username: "reg-4", password: "password-1" }))).kind).toBe(PacketKind.RESPONSE);
  });

  it("tokens: at most maxTokensPerUser live (a Login revokes the oldest); Logout revokes one or all; Ban revokes all", async () => {
    const setup = await cluster.client();
    const { uid } = await setup.request("login.Register", { username: "tokens", password: "password-1" });
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await cluster.client();
      tokens.push((await c.request("login.Login", { username: "tokens", password: "password-1" })).token);
    }
    const resume = async (token: string): Promise<string> => {
      const c = await cluster.client(1);
      try {
        await c.request("login.Resume", { token });
        return "ok";
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    // 3 logins, limit 2: the first token is revoked, the two newest live
    expect(await resume(tokens[0]!)).toBe("UNAUTHENTICATED");
    expect(await redis.zcard(`sy:login:user-tokens:${uid}`)).toBe(2);
    expect(await resume(tokens[1]!)).toBe("ok");
    // Logout {token} revokes that token only
    const a = await cluster.client();
    await a.request("login.Resume", { token: tokens[2]! });
    await a.request("login.Logout", { token: tokens[1]! });
    expect(await resume(tokens[1]!)).toBe("UNAUTHENTICATED");
    expect(await resume(tokens[2]!)).toBe("ok");
    // Logout {} revokes every token of the user
    const b = await cluster.client();
    const t4 = (await b.request("login.Login", { username: "tokens", password: "password-1" })).token;
    await b.request("login.Logout", {});
    expect(await resume(t4)).toBe("UNAUTHENTICATED");
    expect(await resume(tokens[2]!)).toBe("UNAUTHENTICATED");
    // Ban revokes every token; after Unban the old tokens stay revoked
    const d = await cluster.client();
    const t5 = (await d.request("login.Login", { username: "tokens", password: "password-1" })).token;
    const admin = await cluster.addModule(loginModule);
    await admin.runtime.call("login.Ban", { uid, reason: "test" });
    await admin.runtime.call("login.Unban", { uid });
    expect(await resume(t5)).toBe("UNAUTHENTICATED");
    expect((await failure(setup.request("login.Resume", { token: "short" }))).code).toBe("UNAUTHENTICATED");
    const e = await cluster.client();
    await e.request("login.Login", { username: "tokens", password: "password-1" });
    expect((await failure(e.request("login.Logout", { token: "x".repeat(600) }))).code).toBe("BAD_REQUEST");
  });
});
