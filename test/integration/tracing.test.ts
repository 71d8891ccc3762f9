import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Client } from "../../src/client/index.js";
import type { ClusterConfig } from "../../src/config/cluster-config.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { defineModule } from "../../src/module/define.js";
import { startModule, type ModuleHost } from "../../src/module/host.js";
import type { ServiceRef } from "../../src/module/service-ref.js";
import { loadProto, type ProtoRegistry } from "../../src/proto/registry.js";
import { testConfig } from "../helpers/config.js";
import { startNats, startRedis, type RunningServer } from "../helpers/servers.js";

const RELAY_PROTO = `syntax = "proto3";
package relay;
service Relay { rpc Pass(PassRequest) returns (PassReply); }
message PassRequest { string text = 1; }
message PassReply { Seen relay = 1; Seen sink = 2; }
message Seen { string trace_id = 1; string span_id = 2; string parent_span_id = 3; bool sampled = 4; }
`;
const SINK_PROTO = `syntax = "proto3";
package sink;
service Sink { rpc Take(TakeRequest) returns (TakeReply); }
message TakeRequest { string text = 1; }
message TakeReply { string trace_id = 1; string span_id = 2; string parent_span_id = 3; bool sampled = 4; }
`;

interface Seen {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  sampled: boolean;
}
type Routes = { "relay.Pass": { req: { text: string }; res: { relay: Seen; sink: Seen } }; "sink.Take": { req: { text: string }; res: Seen } };
const relayService: ServiceRef<"relay", { Pass: Routes["relay.Pass"] }, Routes, {}> = { name: "relay" };
const sinkService: ServiceRef<"sink", { Take: Routes["sink.Take"] }, Routes, {}> = { name: "sink" };

function seen(t: { traceId: string; spanId: string; parentSpanId: string; sampled: boolean } | null): Seen {
  if (t === null) throw new Error("the request carried no traceparent");
  return { traceId: t.traceId, spanId: t.spanId, parentSpanId: t.parentSpanId, sampled: t.sampled };
}

const relay = defineModule(relayService, {
  version: "1.0.0",
  handlers: {
    async Pass(ctx, req) {
      const sink = await ctx.call("sink.Take", { text: req.text });
      return { relay: seen(ctx.trace), sink };
    },
  },
});
const sink = defineModule(sinkService, {
  version: "1.0.0",
  handlers: {
    Take(ctx) {
      return seen(ctx.trace);
    },
  },
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

/** A stand-in OpenTelemetry collector: keeps every span POSTed to /v1/traces with its service.name. */
function startCollector(): Promise<{ server: Server; url: string; spans: (OtlpSpan & { service: string })[] }> {
  const spans: (OtlpSpan & { service: string })[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        resourceSpans: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === "service.name")!.value.stringValue;
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, spans })));
}

/** A gateway and one relay and one sink instance on the test proto. */
async function startRelayCluster(config: ClusterConfig, registry: ProtoRegistry): Promise<{ gateway: Gateway; modules: ModuleHost[] }> {
  const gateway = await createGateway({
    id: "gw-t",
    port: 0,
    settings: { ...config.gateway, publicRoutes: ["relay.Pass"] },
    nats: config.nats,
    proto: registry,
    logger: createLogger("gateway", "gw-t", "silent"),
    otlpTracesUrl: config.telemetry.otlpTracesUrl,
  });
  const modules = [await startModule({ definition: relay, config, registry }), await startModule({ definition: sink, config, registry })];
  return { gateway, modules };
}

describe("W3C traceparent: gateway → module → module", () => {
  let nats: RunningServer;
  let redis: RunningServer;
  let protoDir: string;
  let registry: ProtoRegistry;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    protoDir = mkdtempSync(join(tmpdir(), "sy-trace-proto-"));
    writeFileSync(join(protoDir, "relay.proto"), RELAY_PROTO);
    writeFileSync(join(protoDir, "sink.proto"), SINK_PROTO);
    registry = loadProto(protoDir);
  });

  afterAll(async () => {
    await Promise.allSettled([nats?.stop(), redis?.stop()]);
    if (protoDir) rmSync(protoDir, { recursive: true, force: true });
  });

  it("reaches the first module and, through ctx.call, the second with the same trace id and a new span", async () => {
    const config = testConfig(nats.url, redis.url);
    const { gateway, modules } = await startRelayCluster(config, registry);
    const client: Client = await connect({ ...gateway.address(), heartbeatMs: 0, protoDir });
    try {
      const a = (await client.request("relay.Pass" as never, { text: "one" } as never)) as Routes["relay.Pass"]["res"];
      const b = (await client.request("relay.Pass" as never, { text: "two" } as never)) as Routes["relay.Pass"]["res"];
      expect(a.relay.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(a.sink.traceId).toBe(a.relay.traceId);
      // the sink's parent is the relay handler's own span, not the gateway's
      expect(a.sink.parentSpanId).toBe(a.relay.spanId);
      expect(a.relay.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
      expect(new Set([a.relay.parentSpanId, a.relay.spanId, a.sink.spanId]).size).toBe(3);
      // no exporter: nobody records, so nothing is sampled
      expect([a.relay.sampled, a.sink.sampled]).toEqual([false, false]);
      // each client request is a trace of its own
      expect(b.relay.traceId).not.toBe(a.relay.traceId);
      expect(b.sink.traceId).toBe(b.relay.traceId);
    } finally {
      await client.close();
      await Promise.all(modules.map((m) => m.stop()));
      await gateway.stop();
      rmSync(config.runtimeDir, { recursive: true, force: true });
    }
  });

  it("with telemetry.otlpTracesUrl set, gateway and both modules export one span each, chained by parent ids", async () => {
    const collector = await startCollector();
    const config = testConfig(nats.url, redis.url, { telemetry: { metrics: false, otlpTracesUrl: collector.url } });
    const { gateway, modules } = await startRelayCluster(config, registry);
    const client: Client = await connect({ ...gateway.address(), heartbeatMs: 0, protoDir });
    let reply: Routes["relay.Pass"]["res"];
    try {
      reply = (await client.request("relay.Pass" as never, { text: "traced" } as never)) as Routes["relay.Pass"]["res"];
    } finally {
      await client.close();
      // stopping flushes every exporter's buffer
      await Promise.all(modules.map((m) => m.stop()));
      await gateway.stop();
      collector.server.close();
      rmSync(config.runtimeDir, { recursive: true, force: true });
    }
    expect([reply.relay.sampled, reply.sink.sampled]).toEqual([true, true]);
    const spans = collector.spans.filter((s) => s.traceId === reply.relay.traceId);
    const byService = Object.fromEntries(spans.map((s) => [s.service, s]));
    expect(spans.map((s) => s.service).sort()).toEqual(["switchyard-gateway", "switchyard-relay", "switchyard-sink"]);
    expect(byService["switchyard-gateway"]).toMatchObject({ name: "relay.Pass", spanId: reply.relay.parentSpanId });
    expect(byService["switchyard-gateway"]!.parentSpanId).toBeUndefined();
    expect(byService["switchyard-relay"]).toMatchObject({ name: "relay.Pass", spanId: reply.relay.spanId, parentSpanId: reply.relay.parentSpanId });
    expect(byService["switchyard-sink"]).toMatchObject({ name: "sink.Take", spanId: reply.sink.spanId, parentSpanId: reply.relay.spanId });
  });
});
