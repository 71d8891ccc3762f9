import { describe, expect, it } from "vitest";
import { redirectTarget } from "../../../src/client/redirect.js";

describe("redirectTarget (a KICK's redirect field)", () => {
  it("reads a WebSocket URL, host:port and [v6]:port", () => {
    expect(redirectTarget("ws://10.0.0.2:3251/ws")).toEqual({ kind: "ws", url: "ws://10.0.0.2:3251/ws" });
    expect(redirectTarget("wss://gw2.example:443/ws")).toEqual({ kind: "ws", url: "wss://gw2.example:443/ws" });
    expect(redirectTarget("127.0.0.1:3252")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 3252 });
    expect(redirectTarget("[::1]:3252")).toEqual({ kind: "tcp", host: "::1", port: 3252 });
  });

  it("is null for an empty or unreadable address", () => {
    for (const bad of ["", "gw-2", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "http://x/gate"]) expect(redirectTarget(bad), bad).toBeNull();
  });
});
