import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect as natsConnect, headers as natsHeaders, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/protocol/errors.js";
import { Header } from "../../src/bus/headers.js";
import { gatewayBindSubject, gatewayCommandSubject } from "../../src/bus/subjects.js";
import { SwitchyardError, connect, type Client, type ClientOptions } from "../../src/client/index.js";
import { DEFAULT_CONFIG, type GatewaySettings } from "../../src/config/cluster-config.js";
import type { cluster, echo } from "../../src/generated/proto.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { loadProto } from "../../src/proto/registry.js";
import { freePort, startNats, type RunningServer } from "../helpers/servers.js";

/**
 * The client SDK and the `switchyard client` CLI against the real gateway and a real
 * nats-server. Raw NATS responders on svc.echo.* (queue "echo") play the module.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = join(root, "bin", "switchyard.js");
const proto = loadProto();
const commandCodec = proto.message<cluster.GatewayCommand>("cluster.GatewayCommand");
const ackCodec = proto.message<cluster.CommandAck>("cluster.CommandAck");
const identityCodec = proto.message<echo.Identity>("echo.Identity");
const echoCodec = proto.message<echo.EchoMessage>("echo.EchoMessage");
const sleepCodec = proto.message<echo.SleepRequest>("echo.SleepRequest");
const resumeCodec = proto.message<{ token: string }>("login.ResumeRequest");
const loginReplyCodec = proto.message<{ uid: string; token: string; expiresAt: number }>("login.LoginReply");
/** echo.Sleep with this many ms is answered CONFLICT; any other Sleep is never answered. */
const CONFLICT_MS = 1;

const settings: GatewaySettings = {
  ...DEFAULT_CONFIG.gateway,
  publicRoutes: ["echo.Echo", "echo.Sleep", "echo.WhoAmI", "nobody.Home", "login.Resume"],
  requestTimeoutMs: 2_000,
};

describe("client SDK against the real gateway", () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  let gw: Gateway;
  const clients: Client[] = [];

  async function client(opts: ClientOptions = {}, gateway = gw): Promise<Client> {
    const c = await connect({ ...gateway.address(), heartbeatMs: 0, ...opts });
    clients.push(c);
    return c;
  }

  /** The gateway's session id of a client (the WhoAmI responder reads the stamped headers). */
  async function sidOf(c: Client): Promise<number> {
    const me = await c.request("echo.WhoAmI", {});
    return me.sid;
  }

  async function command(cmd: Partial<cluster.GatewayCommand>, gatewayId = gw.id): Promise<cluster.CommandAck> {
    const reply = await nc.request(gatewayCommandSubject(gatewayId), commandCodec.encode(cmd), { timeout: 2_000 });
    return ackCodec.decode(reply.data);
  }

  beforeAll(async () => {
    nats = await startNats();
    nc = await natsConnect({ servers: nats.url });
    nc.subscribe("svc.echo.*", {
      queue: "echo",
      callback: (_err, msg) => {
        const method = msg.subject.slice("svc.echo.".length);
        if (method === "WhoAmI") {
          const h = msg.headers;
          msg.respond(identityCodec.encode({ uid: h?.get(Header.uid) ?? "", sid: Number(h?.get(Header.session)), gatewayId: h?.get(Header.gateway) ?? "" }));
        } else if (method === "Sleep") {
          if (sleepCodec.decode(msg.data).ms === CONFLICT_MS) {
            const h = natsHeaders();
            h.set(Header.errorCode, String(ErrorCode.CONFLICT));
            h.set(Header.errorMessage, "room is full: pick another");
            msg.respond(new Uint8Array(0), { headers: h });
          }
          // Any other Sleep never answers: it stays pending until the test closes something.
        } else {
          msg.respond(msg.data);
        }
      },
    });
    // login.Resume played by a raw responder: token "good" binds the session to uid "u-resumed".
    nc.subscribe("svc.login.Resume", {
      queue: "login",
      callback: (_err, msg) => {
        const { token } = resumeCodec.decode(msg.data);
        if (token !== "good") {
          const h = natsHeaders();
          h.set(Header.errorCode, String(ErrorCode.UNAUTHENTICATED));
          h.set(Header.errorMessage, "token expired or revoked: log in again");
          msg.respond(new Uint8Array(0), { headers: h });
          return;
        }
        const sid = Number(msg.headers?.get(Header.session));
        void nc.request(gatewayBindSubject(msg.headers?.get(Header.gateway) ?? ""), commandCodec.encode({ bind: { sid, uid: "u-resumed", resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [] } })).then(() => {
          msg.respond(loginReplyCodec.encode({ uid: "u-resumed", token, expiresAt: 0 }));
        });
      },
    });
    await nc.flush();
    gw = await createGateway({ id: "gw-sdk", port: 0, settings, nats: { url: nats.url }, logger: createLogger("gateway", "gw-sdk", "silent"), announce: false });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await gw?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it("round-trips typed requests, many in flight at once", async () => {
    const c = await client();
    const one = await c.request("echo.Echo", { text: "hi", data: new Uint8Array([1, 2, 3]) });
    expect(one.text).toBe("hi");
    expect(Buffer.from(one.data)).toEqual(Buffer.from([1, 2, 3]));
    const many = await Promise.all(Array.from({ length: 60 }, (_, i) => c.request("echo.Echo", { text: `n${i}` })));
    expect(many.map((r) => r.text)).toEqual(Array.from({ length: 60 }, (_, i) => `n${i}`));
    const raw = await c.requestRaw("echo.Echo", echoCodec.encode({ text: "raw" }));
    expect(echoCodec.decode(raw).text).toBe("raw");
    expect(c.pending).toBe(0);
  });

  it("turns a module's error into a SwitchyardError with its code", async () => {
    const c = await client();
    const err = await c.request("echo.Sleep", { ms: CONFLICT_MS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ code: "CONFLICT", message: "room is full: pick another" });
  });

  it("reports a module nobody serves as UNAVAILABLE, and an undeclared route locally as BAD_REQUEST", async () => {
    const c = await client();
    await expect(c.requestRaw("nobody.Home", new Uint8Array())).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect((c.request as (r: string, m: object) => Promise<unknown>)("nobody.Home", {})).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining('unknown route "nobody.Home"'),
    });
  });

  it("delivers a push sent through gw.<id>.cmd to on() handlers", async () => {
    const c = await client();
    const sid = await sidOf(c);
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      c.on<echo.EchoMessage>("room.Event", "echo.EchoMessage", (m, route) => {
        got.push(`${route}:${m.text}`);
        resolve();
      });
    });
    const rawSizes: number[] = [];
    c.onRaw("room.Event", (b) => rawSizes.push(b.length));
    const body = echoCodec.encode({ text: "player joined" });
    expect(await command({ push: { sids: [sid], route: "room.Event", body, uid: "" } })).toMatchObject({ ok: true });
    await done;
    expect(got).toEqual(["room.Event:player joined"]);
    expect(rawSizes).toEqual([body.length]);
  });

  it("on KICK: onKick, pending requests reject with UNAVAILABLE, closed resolves with the code", async () => {
    const c = await client();
    const sid = await sidOf(c);
    const kicks: string[] = [];
    c.onKick((code, message) => kicks.push(`${code}: ${message}`));
    const pending = c.request("echo.Sleep", { ms: 10_000 }).catch((e: unknown) => e);
    expect(await command({ kick: { sid, uid: "", code: ErrorCode.FORBIDDEN, reason: "banned by an admin", handover: false } })).toMatchObject({ ok: true });
    expect(await c.closed).toMatchObject({ code: "FORBIDDEN", message: "banned by an admin" });
    expect(kicks).toEqual(["FORBIDDEN: banned by an admin"]);
    expect(await pending).toMatchObject({ code: "UNAVAILABLE", message: "connection closed: kicked by the gateway: FORBIDDEN: banned by an admin" });
    await expect(c.request("echo.Echo", {})).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("rejects pending requests with UNAVAILABLE when the gateway stops, and when the client closes", async () => {
    const other = await createGateway({ id: "gw-sdk-2", port: 0, settings, nats: { url: nats.url }, logger: createLogger("gateway", "gw-sdk-2", "silent"), announce: false });
    // without reconnecting: what a client that ends with its connection sees
    const c = await client({ reconnect: false }, other);
    const pending = c.request("echo.Sleep", { ms: 10_000 }).catch((e: unknown) => e);
    await expect.poll(() => other.load().inflight).toBe(1);
    await other.stop();
    expect(await pending).toMatchObject({ code: "UNAVAILABLE", message: expect.stringMatching(/^connection closed: /) });
    expect(await c.closed).toMatchObject({ code: "UNAVAILABLE" });

    const d = await client();
    const waiting = d.request("echo.Sleep", { ms: 10_000 }).catch((e: unknown) => e);
    await d.close();
    expect(await waiting).toMatchObject({ code: "UNAVAILABLE", message: "connection closed: closed by the client" });
    expect(await d.closed).toBeNull();
  });

  it("keeps a heartbeating connection open (the gateway answers heartbeats)", async () => {
    const c = await client({ heartbeatMs: 30 });
    await new Promise((r) => setTimeout(r, 250));
    expect(c.isClosed).toBe(false);
    expect((await c.request("echo.Echo", { text: "still here" })).text).toBe("still here");
  });

  describe("switchyard client (CLI)", () => {
    interface Run {
      code: number | null;
      stdout: string;
      stderr: string;
    }

    function cli(args: string[], stdin?: string): Promise<Run> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [bin, "client", ...args], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(stdin ?? "");
      });
    }

    beforeAll(() => {
      if (!existsSync(join(root, "dist", "src", "cli", "client-command.js"))) {
        throw new Error("the build is missing: run `npm run build` (npm test runs it through pretest)");
      }
    });

    it("call prints the reply as JSON and exits 0", async () => {
      const r = await cli(["call", "echo.Echo", '{"text":"hi"}', "--port", String(gw.address().port)]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ text: "hi", data: "", servedBy: "", version: "" });
    });

    it("call prints CODE: message on stderr and exits 1", async () => {
      const port = String(gw.address().port);
      const [conflict, unknownField, unknownRoute] = await Promise.all([
        cli(["call", "echo.Sleep", `{"ms":${CONFLICT_MS}}`, "--port", port]),
        cli(["call", "echo.Echo", '{"txt":"hi"}', "--port", port]),
        cli(["call", "echo.Nope", "{}", "--port", port]),
      ]);
      expect(conflict).toMatchObject({ code: 1, stdout: "", stderr: "CONFLICT: room is full: pick another\n" });
      expect(unknownField.code).toBe(1);
      expect(unknownField.stderr).toMatch(/^BAD_REQUEST: echo.EchoMessage has no field "txt"/);
      expect(unknownRoute.code).toBe(1);
      expect(unknownRoute.stderr).toMatch(/^BAD_REQUEST: unknown route "echo.Nope"/);
    });

    it("call --token resumes the session first (login.Resume), or fails with its error", async () => {
      const port = String(gw.address().port);
      const [good, bad] = await Promise.all([
        cli(["call", "echo.WhoAmI", "{}", "--token", "good", "--port", port]),
        cli(["call", "echo.WhoAmI", "{}", "--token", "bad", "--port", port]),
      ]);
      expect(good.stderr).toBe("");
      expect(good.code).toBe(0);
      expect(JSON.parse(good.stdout)).toMatchObject({ uid: "u-resumed", gatewayId: gw.id });
      expect(bad).toMatchObject({ code: 1, stdout: "", stderr: "UNAUTHENTICATED: --token was not accepted by login.Resume: token expired or revoked: log in again\n" });
    });

    it("call against a closed port says how to start the cluster", async () => {
      const port = await freePort();
      const r = await cli(["call", "echo.Echo", "{}", "--host", "127.0.0.1", "--port", String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`UNAVAILABLE: cannot connect to 127.0.0.1:${port}: is the cluster running? start it with \`npm start\`\n`);
    });

    it("routes lists every route with its types", async () => {
      const r = await cli(["routes"]);
      expect(r.code).toBe(0);
      for (const route of proto.routes()) expect(r.stdout).toContain(route);
      expect(r.stdout).toMatch(/^echo\.Echo\s+echo\.EchoMessage\s+-> echo\.EchoMessage$/m);
    });

    it("the REPL runs piped commands in order and prints pushes", async () => {
      const port = String(gw.address().port);
      const script = [
        "help",
        'call echo.Echo {"text": "from the repl"}',
        "watch room.Event echo.EchoMessage",
        "call echo.WhoAmI",
        "sleep 400",
        "call echo.Nope {}",
        "quit",
        "",
      ].join("\n");
      const child = spawn(process.execPath, [bin, "client", "--port", port], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      child.stdin.end(script);
      // Once the REPL printed its session id, push to it while it sleeps.
      await expect.poll(() => /"sid": (\d+)/.exec(stdout)?.[1], { timeout: 5_000 }).toBeDefined();
      const sid = Number(/"sid": (\d+)/.exec(stdout)![1]);
      await command({ push: { sids: [sid], route: "room.Event", body: echoCodec.encode({ text: "pushed" }), uid: "" } });
      expect(await exited).toBe(1); // one command (echo.Nope) failed
      expect(stdout).toContain("call ROUTE [JSON]");
      expect(stdout).toContain('"text": "from the repl"');
      expect(stdout).toContain("watching room.Event");
      expect(stdout).toMatch(/push room\.Event \{"text":"pushed"/);
      expect(stderr).toMatch(/^BAD_REQUEST: unknown route "echo.Nope"/m);
      expect(stdout.indexOf("from the repl")).toBeLessThan(stdout.indexOf("push room.Event"));
    });
  });
});
