import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, headers, type Msg, type NatsConnection } from "nats";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { readRequestHeaders } from "../../src/bus/request-headers.js";
import { HeaderTemplate } from "../../src/bus/encoded-headers.js";
import { checkNatsFastPaths, natsFastPaths } from "../../src/bus/nats-internals.js";
import { startNats, type RunningServer } from "../helpers/servers.js";

describe("readRequestHeaders (raw header scan) agrees with nats.js' own decoding", () => {
  let nats: RunningServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  function roundTrip(publish: (subject: string) => void): Promise<Msg> {
    return new Promise((resolve) => {
      const subject = `hdr.${Math.random().toString(36).slice(2)}`;
      const sub = nc.subscribe(subject, {
        max: 1,
        callback: (_e, m) => resolve(m),
      });
      void nc.flush().then(() => publish(subject));
      void sub;
    });
  }

  const cases: [string, Record<string, string>][] = [
    ["all five", { "sy-gw": "gw-1", "sy-sid": "42", "sy-uid": "u7", "sy-addr": "203.0.113.9", "sy-rid": "gw-1-abc-1" }],
    ["a trusted call", { "sy-caller": "game/game-1a2b", "sy-gw": "gw-2", "sy-sid": "9", "sy-uid": "u3", "sy-rid": "gw-2-q-7" }],
    ["an IPv6 address", { "sy-gw": "gw-1", "sy-sid": "4", "sy-addr": "::ffff:127.0.0.1", "sy-rid": "r" }],
    ["no uid (before login)", { "sy-gw": "gw-2", "sy-sid": "1", "sy-rid": "r" }],
    ["other headers around ours", { "x-trace": "t", "sy-gw": "g", "sy-gwx": "nope", "sy-sid": "9", "sy-uid": "üser-✓" }],
    ["none of ours", { "content-type": "application/octet-stream" }],
    ["a traceparent", { "sy-gw": "gw-1", "sy-sid": "3", "sy-rid": "r", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }],
  ];

  for (const [name, fields] of cases) {
    it(name, async () => {
      const msg = await roundTrip((subject) => {
        const h = headers();
        for (const [k, v] of Object.entries(fields)) h.set(k, v);
        nc.publish(subject, new Uint8Array([1, 2, 3]), { headers: h });
      });
      const fast = readRequestHeaders(msg);
      expect(fast).toEqual({
        gateway: msg.headers!.get("sy-gw"),
        sid: msg.headers!.get("sy-sid"),
        uid: msg.headers!.get("sy-uid"),
        address: msg.headers!.get("sy-addr"),
        requestId: msg.headers!.get("sy-rid"),
        caller: msg.headers!.get("sy-caller"),
        traceparent: msg.headers!.get("traceparent"),
        status: 0,
      });
      expect(Buffer.from(msg.data)).toEqual(Buffer.from([1, 2, 3]));
    });
  }

  it("reads headers published through the gateway's pre-encoded template", async () => {
    const template = new HeaderTemplate([["sy-gw", "gw-9"], ["sy-sid", "77"], ["sy-addr", "10.1.2.3"], ["sy-uid", "u1"]], "sy-rid");
    const msg = await roundTrip((subject) => nc.publish(subject, new Uint8Array(0), { headers: template.with("gw-9-x-5") }));
    expect(readRequestHeaders(msg)).toEqual({ gateway: "gw-9", sid: "77", uid: "u1", address: "10.1.2.3", requestId: "gw-9-x-5", caller: "", traceparent: "", status: 0 });
  });

  it("reads both varying values of the gateway's template (sy-rid and traceparent), fast path and fallback alike", async () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    const template = new HeaderTemplate([["sy-gw", "gw-5"], ["sy-sid", "8"]], "sy-rid", "traceparent");
    const expected = { gateway: "gw-5", sid: "8", uid: "", address: "", requestId: "gw-5-t-1", caller: "", traceparent: tp, status: 0 };
    const msg = await roundTrip((subject) => nc.publish(subject, new Uint8Array(0), { headers: template.with("gw-5-t-1", tp) }));
    expect(readRequestHeaders(msg)).toEqual(expected);
    expect(msg.headers!.get("traceparent")).toBe(tp);
    const saved = { ...natsFastPaths };
    try {
      natsFastPaths.read = false;
      natsFastPaths.write = false;
      const slow = await roundTrip((subject) => nc.publish(subject, new Uint8Array(0), { headers: template.with("gw-5-t-1", tp) }));
      expect(readRequestHeaders(slow)).toEqual(expected);
    } finally {
      Object.assign(natsFastPaths, saved);
    }
  });

  it("the startup self-check finds both fast paths active with the pinned nats.js", async () => {
    const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("nats/package.json"), "utf8")) as { version: string };
    expect(pkg.version).toBe("2.29.3"); // a new nats.js: re-check nats-internals.ts, then update this pin
    const warnings: string[] = [];
    expect(await checkNatsFastPaths(nc, (m) => warnings.push(m))).toEqual({ read: true, write: true, checked: true, reason: "" });
    expect(warnings).toEqual([]);
  });

  it("reads through the fast path (never touches msg.headers) and writes pre-encoded headers", async () => {
    await checkNatsFastPaths(nc);
    const template = new HeaderTemplate([["sy-gw", "gw-3"], ["sy-sid", "5"], ["sy-uid", "u5"]], "sy-rid");
    const out = template.with("gw-3-y-1");
    expect(typeof (out as unknown as { get?: unknown }).get).toBe("undefined"); // not a library MsgHdrs
    const msg = await roundTrip((subject) => nc.publish(subject, new Uint8Array(0), { headers: out }));
    const guarded = new Proxy(msg, {
      get(target, key, receiver) {
        if (key === "headers") throw new Error("the slow path read msg.headers");
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(readRequestHeaders(guarded)).toEqual({ gateway: "gw-3", sid: "5", uid: "u5", address: "", requestId: "gw-3-y-1", caller: "", traceparent: "", status: 0 });
  });

  it("with a path turned off, falls back to the library and gives the same answers", async () => {
    const template = new HeaderTemplate([["sy-gw", "gw-4"], ["sy-sid", "6"]], "sy-rid");
    const saved = { ...natsFastPaths };
    try {
      natsFastPaths.read = false;
      natsFastPaths.write = false;
      const out = template.with("gw-4-z-2");
      expect(typeof (out as unknown as { get?: unknown }).get).toBe("function"); // built by nats.js
      const msg = await roundTrip((subject) => nc.publish(subject, new Uint8Array(0), { headers: out }));
      expect(readRequestHeaders(msg)).toEqual({ gateway: "gw-4", sid: "6", uid: "", address: "", requestId: "gw-4-z-2", caller: "", traceparent: "", status: 0 });
    } finally {
      Object.assign(natsFastPaths, saved);
    }
  });

  it("returns null for a message without headers", async () => {
    const msg = await roundTrip((subject) => nc.publish(subject, new Uint8Array([9])));
    expect(readRequestHeaders(msg)).toBeNull();
  });

  it("reads the status of a no-responders reply", async () => {
    const inbox = `nr.${Math.random().toString(36).slice(2)}`;
    const got = new Promise<Msg>((resolve) => nc.subscribe(inbox, { max: 1, callback: (_e, m) => resolve(m) }));
    await nc.flush();
    nc.publish("nobody.listens.here", new Uint8Array(0), { reply: inbox });
    const msg = await got;
    expect(readRequestHeaders(msg)?.status).toBe(503);
  });
});
