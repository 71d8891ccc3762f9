import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, loadClusterConfig, parseClusterConfig } from "../../../src/config/cluster-config.js";

/** The message parseClusterConfig throws for `raw` (fails the test when it accepts it). */
function refusal(raw: unknown): string {
  try {
    parseClusterConfig(raw, "bad.json");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe("cluster config schema: defaults", () => {
  it("an empty config is every default, applied once", () => {
    const cfg = parseClusterConfig({});
    expect(cfg).toEqual(DEFAULT_CONFIG);
    expect(cfg.nats).toEqual({ url: "nats://127.0.0.1:4222", embedded: true, authModules: ["login"] });
    expect(cfg.redis).toEqual({ url: "redis://127.0.0.1:6379", embedded: true, maxMemory: "256mb", confirmTimeoutMs: 1_000 });
    expect(cfg.gateway.rateLimit).toEqual({ perSecond: 200, burst: 400 });
    expect(cfg.gateways).toEqual([{ id: "gw-1", host: "127.0.0.1", port: 3250 }]);
    expect(cfg.master.readyTimeoutMs).toBe(15_000);
    expect(cfg.log.level).toBe("info");
  });

  it("a partial object keeps the defaults of the keys it leaves out (nested too)", () => {
    const cfg = parseClusterConfig({ gateway: { maxFrameBytes: 1024, rateLimit: { burst: 10 } }, gateways: [{ id: "a", port: 1 }] });
    expect(cfg.gateway.maxFrameBytes).toBe(1024);
    expect(cfg.gateway.requestTimeoutMs).toBe(5_000);
    expect(cfg.gateway.rateLimit).toEqual({ perSecond: 200, burst: 10 });
    expect(cfg.gateways).toEqual([{ id: "a", host: "127.0.0.1", port: 1 }]);
  });

  it("two parses never share a default object", () => {
    const a = parseClusterConfig({});
    a.gateway.publicRoutes.push("echo.Echo");
    a.gateways.push({ id: "x", host: "h", port: 1 });
    expect(parseClusterConfig({}).gateway.publicRoutes).toEqual(["login.Register", "login.Login", "login.Resume"]);
    expect(parseClusterConfig({}).gateways).toHaveLength(1);
  });

  it("runtimeDir is made absolute; $comment is allowed", () => {
    expect(parseClusterConfig({ $comment: "hi", runtimeDir: "run" }).runtimeDir).toBe(resolve("run"));
  });
});

describe("cluster config schema: each kind of mistake names the key path and what was expected", () => {
  it("not an object", () => {
    expect(refusal("str")).toBe("bad.json: Invalid input: expected object, received string");
  });

  it("unknown keys, at the top and nested, list the accepted keys", () => {
    expect(refusal({ natz: {} })).toBe("bad.json: natz: unknown key (expected one of: $comment, nats, redis, runtimeDir, log, gateways, gateway, modules, master, web)");
    expect(refusal({ nats: { urll: "x" } })).toContain("nats.urll: unknown key (expected one of: url, servers, embedded, routePorts, user, pass, token, tls, authModules)");
    expect(refusal({ gateway: { rateLimit: { perMinute: 1 } } })).toContain("gateway.rateLimit.perMinute: unknown key (expected one of: perSecond, burst)");
    expect(refusal({ modules: { login: { instances: 1, instance: 2 } } })).toContain("modules.login.instance: unknown key");
  });

  it("wrong types", () => {
    expect(refusal({ gateway: { maxFrameBytes: "big" } })).toBe("bad.json: gateway.maxFrameBytes: Invalid input: expected number, received string");
    expect(refusal({ nats: { embedded: "yes" } })).toBe("bad.json: nats.embedded: Invalid input: expected boolean, received string");
    expect(refusal({ modules: { rank: { instances: 1, ordered: "no" } } })).toContain("modules.rank.ordered: Invalid input: expected boolean, received string");
    expect(refusal({ gateways: {} })).toContain("gateways: Invalid input: expected array, received object");
  });

  it("out-of-range numbers and fractions where a whole number is expected", () => {
    expect(refusal({ gateways: [{ id: "g", port: 70000 }] })).toBe("bad.json: gateways[0].port: Too big: expected number to be <=65535");
    expect(refusal({ modules: { rank: { instances: -1 } } })).toBe("bad.json: modules.rank.instances: Too small: expected number to be >=0");
    expect(refusal({ gateway: { maxInFlightPerSession: 1.5 } })).toContain("gateway.maxInFlightPerSession: Invalid input: expected int, received number");
    expect(refusal({ gateway: { rateLimit: { perSecond: 0 } } })).toContain("gateway.rateLimit.perSecond: Too small: expected number to be >0");
    expect(refusal({ gateway: { requestTimeoutMs: 2 ** 31 } })).toContain("gateway.requestTimeoutMs: Too big: expected number to be <=2147483647");
  });

  it("a missing required key", () => {
    expect(refusal({ modules: { x: {} } })).toBe("bad.json: modules.x.instances: Invalid input: expected number, received undefined");
  });

  it("malformed strings: names, routes, levels, sizes", () => {
    expect(refusal({ modules: { Login: { instances: 1 } } })).toContain("modules.Login (key): expected a module name");
    expect(refusal({ gateways: [{ id: "a b", port: 1 }] })).toContain("gateways[0].id: expected a subject token");
    expect(refusal({ gateway: { publicRoutes: ["login"] } })).toContain('gateway.publicRoutes[0]: expected a route "module.Method"');
    expect(refusal({ log: { level: "loud" } })).toContain('log.level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"');
    expect(refusal({ redis: { maxMemory: "lots" } })).toContain('redis.maxMemory: expected a size such as "256mb" or "2gb"');
    expect(refusal({ nats: { url: "" } })).toContain("nats.url: Too small: expected string to have >=1 characters");
  });

  it("rules across keys: duplicate gateway ids, backoff order, a password without a user", () => {
    expect(refusal({ gateways: [{ id: "g", port: 1 }, { id: "g", port: 2 }] })).toBe('bad.json: gateways[1].id: duplicate gateway id "g"');
    expect(refusal({ master: { restartBackoffMinMs: 500, restartBackoffMaxMs: 100 } })).toBe("bad.json: master.restartBackoffMaxMs: expected restartBackoffMaxMs >= restartBackoffMinMs");
    expect(refusal({ nats: { pass: "p" } })).toBe("bad.json: nats.pass: nats.pass is set but nats.user is not");
  });

  it("files that do not exist", () => {
    expect(refusal({ nats: { tls: { caFile: "/nope/ca.pem" } } })).toBe("bad.json: nats.tls.caFile: no file /nope/ca.pem (paths are relative to the working directory)");
    expect(refusal({ gateways: [{ id: "g", port: 1, tls: { certFile: "/nope/c", keyFile: "/nope/k" } }] })).toContain("gateways[0].tls.keyFile: no file /nope/k");
  });

  it("every mistake at once, not only the first", () => {
    const message = refusal({ nats: { urll: "x" }, gateway: { maxFrameBytes: 0 }, master: { crashLoopCount: 0 } });
    expect(message.split("; ")).toHaveLength(3);
  });
});

describe("cluster config schema: NATS servers", () => {
  it("nats.servers is folded into the comma-separated nats.url every process reads", () => {
    expect(parseClusterConfig({ nats: { servers: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"] } }).nats.url).toBe("nats://10.0.0.1:4222,nats://10.0.0.2:4222");
    expect(parseClusterConfig({ nats: { url: "nats://a:1,nats://b:2" } }).nats.url).toBe("nats://a:1,nats://b:2");
  });

  it("refuses both forms at once, an empty list, and route ports that do not match the URLs", () => {
    expect(refusal({ nats: { url: "nats://a:1", servers: ["nats://b:2"] } })).toBe("bad.json: nats.servers: give nats.url or nats.servers, not both");
    expect(refusal({ nats: { servers: [] } })).toBe("bad.json: nats.servers: Too small: expected array to have >=1 items");
    expect(refusal({ nats: { servers: ["nats://a:1", "nats://b:2"], routePorts: [6222] } })).toBe("bad.json: nats.routePorts: expected one route port per NATS URL");
    expect(refusal({ nats: { routePorts: [0] } })).toContain("nats.routePorts[0]: Too small: expected number to be >=1");
  });
});

describe("loadClusterConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "sy-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the file, for bad JSON and for a bad key", () => {
    const badJson = join(dir, "bad-json.json");
    writeFileSync(badJson, "{ nats: ");
    expect(() => loadClusterConfig(badJson)).toThrow(new RegExp(`^cannot read cluster config ${badJson}: `));
    const badKey = join(dir, "bad-key.json");
    writeFileSync(badKey, JSON.stringify({ log: { level: 3 } }));
    expect(() => loadClusterConfig(badKey)).toThrow(`${badKey}: log.level: Invalid option`);
  });

  it("reads the shipped config/cluster.json", () => {
    expect(loadClusterConfig(resolve("config/cluster.json")).modules.login?.instances).toBe(2);
  });
});

describe("cluster config schema: WebSocket keys", () => {
  it("defaults: no wsPort, /ws and /gate, no permessage-deflate", () => {
    const cfg = parseClusterConfig({ gateways: [{ id: "gw-1", port: 3250 }] });
    expect(cfg.gateways[0]!.wsPort).toBeUndefined();
    expect(cfg.gateway).toMatchObject({ wsPath: "/ws", gatePath: "/gate", wsPerMessageDeflate: false });
  });

  it("takes a wsPort per gateway and the paths", () => {
    const cfg = parseClusterConfig({ gateways: [{ id: "gw-1", port: 3250, wsPort: 3251 }], gateway: { wsPath: "/game/ws", gatePath: "/game/gate", wsPerMessageDeflate: true } });
    expect(cfg.gateways[0]!.wsPort).toBe(3251);
    expect(cfg.gateway).toMatchObject({ wsPath: "/game/ws", gatePath: "/game/gate", wsPerMessageDeflate: true });
  });

  it("names the key path of a wrong value", () => {
    expect(refusal({ gateways: [{ id: "gw-1", port: 1, wsPort: 70000 }] })).toContain("gateways[0].wsPort");
    expect(refusal({ gateways: [{ id: "gw-1", port: 3250, wsPort: 3250 }] })).toContain("gateways[0].wsPort: expected a port other than the gateway's TCP port");
    expect(refusal({ gateway: { wsPath: "ws" } })).toContain('gateway.wsPath: expected an absolute URL path such as "/ws"');
    expect(refusal({ gateway: { gatePath: "/a b" } })).toContain("gateway.gatePath: expected an absolute URL path");
    expect(refusal({ gateway: { wsPath: "/x", gatePath: "/x" } })).toContain("gateway.gatePath: expected gateway.gatePath to differ from gateway.wsPath");
    expect(refusal({ gateway: { wsPerMessageDeflate: "yes" } })).toContain("gateway.wsPerMessageDeflate");
  });
});

describe("cluster config schema: web (the demo the master serves)", () => {
  it("default: none; the shipped config serves it on 127.0.0.1:3280", () => {
    expect(parseClusterConfig({}).web).toBeNull();
    expect(parseClusterConfig({ web: null }).web).toBeNull();
    expect(loadClusterConfig(resolve("config/cluster.json")).web).toEqual({ host: "127.0.0.1", port: 3280 });
  });

  it("host defaults to 127.0.0.1; port is required and 0-65535; no other key", () => {
    expect(parseClusterConfig({ web: { port: 0 } }).web).toEqual({ host: "127.0.0.1", port: 0 });
    expect(refusal({ web: {} })).toContain("web.port");
    expect(refusal({ web: { port: 70000 } })).toContain("web.port");
    expect(refusal({ web: { port: 3280, root: "/srv" } })).toContain("web.root: unknown key (expected one of: host, port)");
  });
});
