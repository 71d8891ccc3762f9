import { describe, expect, it } from "vitest";
import { parseGatewayRolloutRequest, replacementSlot } from "../../../src/master/gateway-rollout.js";
import { commandArgs, parseAnnouncedSlot, ProcessKind, type ProcessSlot } from "../../../src/process/process-plan.js";

const gw1: ProcessSlot = { key: "gateway/gw-1", kind: ProcessKind.gateway, module: "gateway", gatewayId: "gw-1", listen: { host: "127.0.0.1", port: 3250 } };

describe("replacementSlot", () => {
  it("keeps the config entry and ports, takes a fresh id and the old gateway's ports", () => {
    const next = replacementSlot(gw1, new Set(["gw-1"]));
    expect(next).toMatchObject({ kind: "gateway", module: "gateway", endpoint: "gw-1", takePortsFrom: "gw-1", listen: { host: "127.0.0.1", port: 3250 } });
    expect(next.gatewayId).toMatch(/^gw-1-[0-9a-f]{4}$/);
    expect(next.key).toBe(`gateway/${next.gatewayId}`);
    expect(commandArgs(next, next.gatewayId!, "/c.json")).toEqual(["gateway", "--id", next.gatewayId, "--config", "/c.json", "--endpoint", "gw-1", "--take-ports-from", "gw-1"]);
  });

  it("a second rollout names the config entry, not the previous replacement, and survives the slot announcement", () => {
    const first = replacementSlot(gw1, new Set());
    const second = replacementSlot(first, new Set([first.gatewayId!]));
    expect(second.endpoint).toBe("gw-1");
    expect(second.takePortsFrom).toBe(first.gatewayId);
    expect(second.gatewayId).toMatch(/^gw-1-[0-9a-f]{4}$/);
    expect(parseAnnouncedSlot(JSON.stringify(second))).toEqual(second);
  });
});

describe("parseGatewayRolloutRequest", () => {
  it("takes one gateway id or none, and refuses what is not an id", () => {
    expect(parseGatewayRolloutRequest(undefined)).toEqual({});
    expect(parseGatewayRolloutRequest({ gateway: "gw-2" })).toEqual({ gateway: "gw-2" });
    expect(() => parseGatewayRolloutRequest({ gateway: "gw 2" })).toThrow(/gateway id/);
  });
});
