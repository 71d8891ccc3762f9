import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "nats";
import { DEFAULT_CONFIG, type GatewaySettings } from "../../src/config/cluster-config.js";
import type { GatewayChoice } from "../../src/bus/gateway-directory.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { PacketKind } from "../../src/protocol/packet.js";
import { startNats, type RunningServer } from "../helpers/servers.js";
import { RawClient } from "./gateway-raw-client.js";
import { RawWsClient } from "./gateway-ws-raw-client.js";

const base: GatewaySettings = { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo", "echo.Hold"] };

/** The directories refresh every 2 s: answers are polled for up to this long. */
const REFRESH_WAIT_MS = 6_000;

describe("the gate and redirects (real nats-server, two gateways)", () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  let a: Gateway;
  let b: Gateway;
  const closers: (() => void)[] = [];

  async function gateway(id: string, overrides: Partial<GatewaySettings>): Promise<Gateway> {
    return createGateway({
      id,
      port: 0,
      wsPort: 0,
      settings: { ...base, ...overrides },
      nats: { url: nats.url },
      logger: createLogger("gateway", id, process.env.SWITCHYARD_TEST_LOG ?? "silent"),
    });
  }

  function expected(gw: Gateway): GatewayChoice {
    return { id: gw.id, tcp: { host: "127.0.0.1", port: gw.address().port, tls: false }, ws: `ws://127.0.0.1:${gw.wsAddress()!.port}/ws` };
  }

  async function gate(gw: Gateway): Promise<{ status: number; headers: Headers; body: unknown }> {
    const res = await fetch(`http://127.0.0.1:${gw.wsAddress()!.port}/gate`);
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  /** Polls `gw`'s gate until it names `want` (the directory refreshes in the background). */
  async function gateNames(gw: Gateway, want: Gateway): Promise<unknown> {
    const deadline = Date.now() + REFRESH_WAIT_MS;
    let last: unknown;
    while (Date.now() < deadline) {
      last = (await gate(gw)).body;
      if ((last as GatewayChoice).id === want.id) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    return last;
  }

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    nc.subscribe("svc.echo.*", {
      callback: (_e, msg) => {
        if (msg.subject.endsWith(".Hold")) setTimeout(() => msg.respond(msg.data), 600);
        else msg.respond(msg.data);
      },
    });
    await nc.flush();
    a = await gateway("gate-a", { maxConnections: 1 });
    b = await gateway("gate-b", {});
  });

  afterAll(async () => {
    for (const close of closers) close();
    await Promise.all([a?.stop(), b?.stop()]);
    await nc?.close();
    await nats?.stop();
  });

  it("GET /gate answers the least-loaded gateway that is not full, from any gateway; full or draining ones redirect new connections", async () => {
    // both empty: the tie goes to the lower id
    const first = await gate(a);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(first.headers.get("access-control-allow-origin")).toBe("*");
    expect(await gateNames(b, a)).toEqual(expected(a));

    const holder = await RawClient.connect(a.address().port);
    closers.push(() => holder.close());
    expect((await holder.request(1, "echo.Echo")).kind).toBe(PacketKind.RESPONSE);
    // gate-a is full (maxConnections 1): both gates now name gate-b
    expect(await gateNames(a, b)).toEqual(expected(b));
    expect(await gateNames(b, b)).toEqual(expected(b));

    const ws = await RawWsClient.connect(`ws://127.0.0.1:${a.wsAddress()!.port}/ws`);
    expect(await ws.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.UNAVAILABLE, message: "gateway full", redirect: expected(b).ws });
    expect(await ws.closed).toEqual({ code: 4005, reason: "gateway full" });
    const tcp = await RawClient.connect(a.address().port);
    expect(await tcp.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.UNAVAILABLE, message: "gateway full", redirect: `127.0.0.1:${b.address().port}` });

    // draining: the listeners stay open while a request is in flight; newcomers are redirected
    const held = holder.request(2, "echo.Hold", Buffer.from("held"), 5_000);
    await new Promise((r) => setTimeout(r, 50));
    const drained = a.drain();
    const late = await RawWsClient.connect(`ws://127.0.0.1:${a.wsAddress()!.port}/ws`);
    expect(await late.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.UNAVAILABLE, message: "gateway shutting down", redirect: expected(b).ws });
    expect((await held).kind).toBe(PacketKind.RESPONSE);
    // the session is moved to the other gateway (KICK MOVED, see README "Gateway moves")
    expect(await holder.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.MOVED, redirect: `127.0.0.1:${b.address().port}` });
    await drained;

    // a gateway that finds no other ready gateway redirects nowhere
    const lone = await gateway("gate-lone", { maxConnections: 0 });
    try {
      await b.drain();
      let answer = await gate(lone);
      for (const deadline = Date.now() + REFRESH_WAIT_MS; answer.status !== 503 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 50));
        answer = await gate(lone);
      }
      expect(answer).toMatchObject({ status: 503, body: { code: "UNAVAILABLE", message: "no gateway is ready: retry in a few seconds" } });
      const refused = await RawClient.connect(lone.address().port);
      expect(await refused.nextKind(PacketKind.KICK)).toMatchObject({ code: ErrorCode.UNAVAILABLE, message: "gateway full", redirect: "" });
    } finally {
      await lone.stop();
    }
  });
});
