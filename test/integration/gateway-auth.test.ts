import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { connect as natsConnect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { projectRoot } from "../../src/config/cluster-config.js";
import type { echo } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { PacketKind } from "../../src/protocol/packet.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { RawClient } from "./gateway-raw-client.js";
import echoModule from "../../modules/echo/index.js";
import loginModule from "../../modules/login/index.js";

const root = projectRoot();
const bin = join(root, "bin", "switchyard.js");
const identity = loadProto().message<echo.Identity>("echo.Identity");

/** Runs `switchyard ctl ...`; resolves with the exit code and output. */
function ctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, "ctl", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves with the KICK a client receives (code name and message). */
function kicked(c: Client): Promise<{ code: string; message: string }> {
  return new Promise((resolve) => c.onKick((code, message) => resolve({ code, message })));
}

describe("auth boundary (real nats-server and redis-server, 2 gateways)", () => {
  let cluster: TestCluster;
  let spy: NatsConnection;
  const published: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(root, "dist", "src", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` (npm test does it in pretest)");
    cluster = await startTestCluster({
      gateways: 2,
      modules: [
        { def: loginModule, instances: 1 },
        { def: echoModule, instances: 1 },
      ],
    });
    // Sees every message on the module subjects: what a client could make the gateway publish.
    spy = await natsConnect({ servers: cluster.nats.url });
    spy.subscribe("svc.>", { callback: (_e, m) => published.push(m.subject) });
    spy.subscribe("inst.>", { callback: (_e, m) => published.push(m.subject) });
    await spy.flush();
  });

  afterAll(async () => {
    await spy?.close();
    await cluster?.stop();
  });

  it("never trusts a uid or sid in a request body: echo.WhoAmI returns the stamped identity", async () => {
    const { client, uid } = await cluster.loggedInClient("honest");
    // The body claims to be someone else (an echo.Identity where WhoAmI takes echo.Empty).
    const forged = identity.encode({ uid: "u-admin", sid: 1, gatewayId: "gw-2" });
    const reply = identity.decode(await client.requestRaw("echo.WhoAmI", forged));
    expect(reply.uid).toBe(uid);
    expect(reply.uid).not.toBe("u-admin");
    expect(reply.gatewayId).toBe("gw-1");
    const own = await client.request("echo.WhoAmI", {});
    expect(reply.sid).toBe(own.sid);
    // Before login nothing is stamped, whatever the body says; and private routes are refused.
    const anon = await cluster.client();
    await expect(anon.requestRaw("echo.WhoAmI", forged)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("a client cannot speak NATS to the gateway: a raw PUB line gets KICK PROTOCOL and a close", async () => {
    const before = published.length;
    for (const line of ["PUB svc.echo.Echo 5\r\nhello\r\n", "CONNECT {\"verbose\":false}\r\nPUB svc.login.Ban 2\r\nhi\r\n", "SUB > 1\r\n"]) {
      const raw = await RawClient.connect(cluster.gateways[0]!.address().port);
      raw.socket.write(line);
      const kick = await raw.nextKind(PacketKind.KICK);
      expect(kick.code).toBe(ErrorCode.PROTOCOL);
      expect(kick.message).toMatch(/exceeds the limit/); // "PUB " read as a length prefix: 1.3 GB
      await raw.closed;
    }
    // Nothing reached a module subject, and the gateway still serves.
    await spy.flush();
    expect(published.length).toBe(before);
    const { client } = await cluster.loggedInClient("after-pub");
    expect((await client.request("echo.Echo", { text: "still here" })).text).toBe("still here");
  });

  it("kick by uid from a module reaches the gateway holding the session and closes it with the reason", async () => {
    const target = await cluster.loggedInClient("kick-target", 1); // on gw-2
    const bystander = await cluster.loggedInClient("bystander", 0); // on gw-1
    const kick = kicked(target.client);
    const login = cluster.modules[0]!; // the login instance: what a handler's ctx.module does
    expect(await login.runtime.kickUid(target.uid, ErrorCode.FORBIDDEN, "cheating detected")).toBe(true);
    expect(await kick).toEqual({ code: "FORBIDDEN", message: "cheating detected" });
    await target.client.closed;
    expect(target.client.isClosed).toBe(true);
    expect((await bystander.client.request("echo.WhoAmI", {})).uid).toBe(bystander.uid);
  });

  it("`ctl kick UID --reason R` finds the right gateway and closes the session with R", async () => {
    const target = await cluster.loggedInClient("ctl-target", 1); // on gw-2
    const bystander = await cluster.loggedInClient("ctl-bystander", 0);
    const kick = kicked(target.client);
    const res = await ctl(["kick", target.uid, "--reason", "maintenance in 5 minutes", "--nats", cluster.nats.url]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`kicked uid ${target.uid} on gw-2`);
    expect(await kick).toEqual({ code: "FORBIDDEN", message: "maintenance in 5 minutes" });
    await target.client.closed;
    expect((await bystander.client.request("echo.WhoAmI", {})).uid).toBe(bystander.uid);
    // A uid nobody holds: a clear failure naming the gateways asked.
    const none = await ctl(["kick", "u-nobody", "--nats", cluster.nats.url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no session of uid "u-nobody" on any gateway \(asked gw-1, gw-2\)/);
  });
});
