import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "nats";
import { WebSocket } from "ws";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { PacketKind } from "../../src/protocol/packet.js";
import { startNats, type RunningServer } from "../helpers/servers.js";
import { RawWsClient } from "./gateway-ws-raw-client.js";

describe("wss: the WebSocket port serves TLS with the gateway's certificate (real nats-server)", () => {
  let dir: string;
  let ca: Buffer;
  let nats: RunningServer;
  let nc: NatsConnection;
  let gw: Gateway;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sy-wss-"));
    const certFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    // A self-signed certificate valid for localhost and 127.0.0.1, for a day.
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", keyFile, "-out", certFile,
    ], { stdio: "ignore" });
    ca = readFileSync(certFile);
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    nc.subscribe("svc.echo.Echo", { callback: (_e, msg) => msg.respond(msg.data) });
    await nc.flush();
    gw = await createGateway({
      id: "wss-1",
      port: 0,
      wsPort: 0,
      settings: { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo"], firstPacketTimeoutMs: 400 },
      nats: { url: nats.url },
      logger: createLogger("gateway", "wss-1", process.env.SWITCHYARD_TEST_LOG ?? "silent"),
      tls: { certFile, keyFile },
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await nc?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves wss:// and an https gate naming wss and TLS; a plain ws:// client gets no session", async () => {
    const port = gw.wsAddress()!.port;
    const c = await RawWsClient.connect(`wss://127.0.0.1:${port}/ws`, { ca });
    const r = await c.request(1, "echo.Echo", Buffer.from("over tls"));
    expect([r.kind, Buffer.from(r.body).toString()]).toEqual([PacketKind.RESPONSE, "over tls"]);
    c.close();

    const gate = await new Promise<unknown>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/gate", ca }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve(JSON.parse(text)));
      })
        .on("error", reject)
        .end();
    });
    expect(gate).toEqual({ id: "wss-1", tcp: { host: "127.0.0.1", port: gw.address().port, tls: true }, ws: `wss://127.0.0.1:${port}/ws` });

    const plain = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      ws.once("open", () => resolve("open"));
      ws.once("error", (err) => resolve(err.message));
    });
    expect(plain).not.toBe("open");
    expect(gw.sessionCount).toBe(0);
  });

  it("drops a connection that never finishes its TLS handshake (min(firstPacketTimeoutMs, 10 s))", async () => {
    const silent = netConnect({ port: gw.wsAddress()!.port, host: "127.0.0.1" });
    silent.on("error", () => undefined);
    const started = Date.now();
    await new Promise<void>((resolve) => silent.once("close", () => resolve()));
    console.log(`silent connection to the wss port closed after ${Date.now() - started} ms (firstPacketTimeoutMs 400)`);
    expect(silent.destroyed).toBe(true);
  });
});
