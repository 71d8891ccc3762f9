import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../../src/config/cluster-config.js";

describe("cluster config: WebSocket and web keys", () => {
  it("defaults: no wsPort, /ws and /gate, no permessage-deflate, no web demo", () => {
    const cfg = parseClusterConfig({ gateways: [{ id: "gw-1", host: "127.0.0.1", port: 3250 }] });
    expect(cfg.gateways[0]!.wsPort).toBeUndefined();
    expect(cfg.gateway).toMatchObject({ wsPath: "/ws", gatePath: "/gate", wsPerMessageDeflate: false });
    expect(cfg.web).toBeNull();
  });

  it("takes a wsPort per gateway, the paths and a web port", () => {
    const cfg = parseClusterConfig({
      gateways: [{ id: "gw-1", host: "127.0.0.1", port: 3250, wsPort: 3251 }],
      gateway: { wsPath: "/game/ws", gatePath: "/game/gate", wsPerMessageDeflate: true },
      web: { port: 8080 },
    });
    expect(cfg.gateways[0]!.wsPort).toBe(3251);
    expect(cfg.gateway).toMatchObject({ wsPath: "/game/ws", gatePath: "/game/gate", wsPerMessageDeflate: true });
    expect(cfg.web).toEqual({ host: "127.0.0.1", port: 8080 });
  });

  it("names the key of a wrong value", () => {
    expect(() => parseClusterConfig({ gateways: [{ id: "gw-1", port: 1, wsPort: 70000 }] }, "c.json")).toThrow("c.json: gateways[0].wsPort: Too big: expected number to be <=65535");
    expect(() => parseClusterConfig({ gateway: { wsPath: "ws" } }, "c.json")).toThrow('c.json: gateway.wsPath: expected an absolute URL path such as "/ws"');
    expect(() => parseClusterConfig({ gateway: { gatePath: "/a b" } }, "c.json")).toThrow("gateway.gatePath: expected an absolute URL path");
    expect(() => parseClusterConfig({ gateway: { wsPath: "/x", gatePath: "/x" } }, "c.json")).toThrow("gateway.gatePath: gateway.wsPath and gateway.gatePath must differ");
    expect(() => parseClusterConfig({ gateway: { wsPerMessageDeflate: "yes" } }, "c.json")).toThrow("gateway.wsPerMessageDeflate: Invalid input: expected boolean, received string");
    expect(() => parseClusterConfig({ web: { port: "x" } }, "c.json")).toThrow("web.port: Invalid input: expected number, received string");
  });
});
