import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../../src/config/cluster-config.js";

describe("cluster config: WebSocket keys", () => {
  it("defaults: no wsPort, /ws and /gate, no permessage-deflate", () => {
    const cfg = parseClusterConfig({ gateways: [{ id: "gw-1", host: "127.0.0.1", port: 3250 }] });
    expect(cfg.gateways[0]!.wsPort).toBeUndefined();
    expect(cfg.gateway).toMatchObject({ wsPath: "/ws", gatePath: "/gate", wsPerMessageDeflate: false });
  });

  it("takes a wsPort per gateway and the paths", () => {
    const cfg = parseClusterConfig({ gateways: [{ id: "gw-1", host: "127.0.0.1", port: 3250, wsPort: 3251 }], gateway: { wsPath: "/game/ws", gatePath: "/game/gate", wsPerMessageDeflate: true } });
    expect(cfg.gateways[0]!.wsPort).toBe(3251);
    expect(cfg.gateway).toMatchObject({ wsPath: "/game/ws", gatePath: "/game/gate", wsPerMessageDeflate: true });
  });

  it("names the key of a wrong value", () => {
    expect(() => parseClusterConfig({ gateways: [{ id: "gw-1", port: 1, wsPort: 70000 }] }, "c.json")).toThrow("c.json: gateway gw-1: wsPort must be 0-65535");
    expect(() => parseClusterConfig({ gateway: { wsPath: "ws" } }, "c.json")).toThrow('c.json: gateway.wsPath must be an absolute URL path such as "/ws"');
    expect(() => parseClusterConfig({ gateway: { gatePath: "/a b" } }, "c.json")).toThrow("gateway.gatePath must be an absolute URL path");
    expect(() => parseClusterConfig({ gateway: { wsPath: "/x", gatePath: "/x" } }, "c.json")).toThrow("gateway.wsPath and gateway.gatePath must differ");
    expect(() => parseClusterConfig({ gateway: { wsPerMessageDeflate: "yes" } }, "c.json")).toThrow("gateway.wsPerMessageDeflate must be true or false");
  });
});
