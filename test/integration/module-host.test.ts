import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, headers, type NatsConnection } from "nats";
import { startNats, startRedis, type RunningServer } from "../helpers/servers.js";
import { testConfig } from "../helpers/config.js";
import { startModule, type ModuleDefinition, type ModuleHost } from "../../src/module/index.js";
import { ReplyMux } from "../../src/bus/reply-mux.js";
import { loadProto } from "../../src/proto/registry.js";
import type { echo } from "../../src/generated/proto.js";
import echoModule from "../../modules/echo/index.js";
import { failure } from "../helpers/failure.js";

const registry = loadProto();
const echoCodec = registry.route<echo.EchoMessage, echo.EchoMessage>("echo.Echo")!;
const sleepCodec = registry.route<echo.SleepRequest, echo.EchoMessage>("echo.Sleep")!;

describe("module host (real nats-server and redis-server)", () => {
  let nats: RunningServer;
  let redis: RunningServer;
  let nc: NatsConnection;
  let mux: ReplyMux;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    nc = await connect({ servers: nats.url });
    mux = new ReplyMux(nc, "test-client");
  });

  afterAll(async () => {
    mux?.close();
    await nc?.close();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it("answers through its queue group, decodes and encodes with the proto types, sees the stamped session", async () => {
    const host = await startModule({ definition: echoModule, config: testConfig(nats.url, redis.url) });
    try {
      const reply = await mux.request("svc.echo.Echo", echoCodec.request.encode({ text: "hello" }));
      const res = echoCodec.response.decode(reply.data);
      expect(res.text).toBe("hello");
      expect(res.servedBy).toBe(host.instanceId);

      const h = headers();
      h.set("sy-gw", "gw-9");
      h.set("sy-sid", "42");
      h.set("sy-uid", "u7");
      const who = registry.route<echo.Empty, echo.Identity>("echo.WhoAmI")!;
      const id = who.response.decode((await mux.request("svc.echo.WhoAmI", new Uint8Array(0), h)).data);
      expect({ uid: id.uid, sid: id.sid, gatewayId: id.gatewayId }).toEqual({ uid: "u7", sid: 42, gatewayId: "gw-9" });

      // the pinned subject of this instance serves too
      const pinned = echoCodec.response.decode((await mux.request(`inst.${host.instanceId}.Echo`, echoCodec.request.encode({ text: "p" }))).data);
      expect(pinned.servedBy).toBe(host.instanceId);
    } finally {
      await host.drain();
    }
  });

  it("maps failures to codes: unknown method NOT_FOUND, bad body BAD_REQUEST, slow handler TIMEOUT, no module UNAVAILABLE", async () => {
    const host = await startModule({ definition: echoModule, config: testConfig(nats.url, redis.url) });
    try {
      const notFound = await failure(mux.request("svc.echo.Nope", new Uint8Array(0)));
      expect(notFound.code).toBe("NOT_FOUND");
      expect(notFound.message).toContain("Echo");

      const bad = await failure(mux.request("svc.echo.Echo", new Uint8Array([0x0a, 0xff, 0x01])));
      expect(bad.code).toBe("BAD_REQUEST");

      const slow = await failure(mux.request("svc.echo.Sleep", sleepCodec.request.encode({ ms: 500 }), undefined, 100));
      expect(slow.code).toBe("TIMEOUT");

      // no-responders, not the 5 s deadline (which would have answered TIMEOUT)
      const none = await failure(mux.request("svc.nosuchmodule.Do", new Uint8Array(0)));
      expect(none.code).toBe("UNAVAILABLE");
      expect(none.message).toContain("nosuchmodule");
    } finally {
      await host.drain();
    }
  });

  it("gives requests that arrive without a request id unique ids, also while many are in flight", async () => {
    const ridEcho = {
      ...echoModule,
      handlers: {
        ...echoModule.handlers,
        // answers the request id after a pause, so all 100 are in flight at once
        Echo: async (ctx: { requestId: string }) => {
          await new Promise((r) => setTimeout(r, 50));
          return { text: ctx.requestId };
        },
      },
    } as ModuleDefinition;
    const hosts = await Promise.all([0, 1].map(() => startModule({ definition: ridEcho, config: testConfig(nats.url, redis.url) })));
    try {
      const replies = await Promise.all(Array.from({ length: 100 }, () => mux.request("svc.echo.Echo", echoCodec.request.encode({ text: "" }))));
      const ids = replies.map((m) => echoCodec.response.decode(m.data).text);
      expect(ids.every((id) => hosts.some((h) => id.startsWith(`${h.instanceId}-`)))).toBe(true);
      expect(new Set(ids).size).toBe(100);
    } finally {
      await Promise.all(hosts.map((h) => h.drain()));
    }
  });

  it("drain answers every request already in flight, then stops taking new ones", async () => {
    const host = await startModule({ definition: echoModule, config: testConfig(nats.url, redis.url) });
    const inflight = Array.from({ length: 20 }, () => mux.request("svc.echo.Sleep", sleepCodec.request.encode({ ms: 300 })));
    for (let i = 0; i < 200 && host.runtime.inflight < 20; i++) await new Promise((r) => setTimeout(r, 5)); // until all 20 arrived
    expect(host.runtime.inflight).toBe(20);
    const drained = host.drain();
    expect(host.drain()).toBe(drained);
    const replies = await Promise.all(inflight);
    expect(replies.map((m) => sleepCodec.response.decode(m.data).text)).toEqual(Array(20).fill("slept 300 ms"));
    await drained;
    expect(await host.stopped).toBeNull();
    expect(host.state).toBe("stopped");
    const after = await failure(mux.request("svc.echo.Echo", echoCodec.request.encode({ text: "late" })));
    expect(after.code).toBe("UNAVAILABLE");
  });
});

describe("stop() versus drain() of a stateful module", () => {
  let nats: RunningServer;
  let redis: RunningServer;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
  });

  afterAll(async () => {
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  /** echo with a room that never ends: drained() never resolves. */
  function statefulEcho(events: string[]): ModuleDefinition {
    return {
      ...echoModule,
      onDrain: () => void events.push("onDrain"),
      drained: () => new Promise<void>(() => undefined),
      onStop: () => void events.push("onStop"),
    } as ModuleDefinition;
  }

  it("drain() waits for drained(); stop() during the drain cuts that wait short and still runs onStop", async () => {
    const events: string[] = [];
    const host = await startModule({ definition: statefulEcho(events), config: testConfig(nats.url, redis.url) });
    const drained = host.drain();
    let settled = false;
    void drained.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false); // still waiting for the never-ending room
    expect(host.state).toBe("draining");
    expect(events).toEqual(["onDrain"]);
    expect(host.stop()).toBe(drained);
    await drained;
    expect(events).toEqual(["onDrain", "onStop"]);
    expect(host.state).toBe("stopped");
    expect(await host.stopped).toBeNull();
  });
});
