import { describe, expect, it } from "vitest";
import { parseAddRequest, parseRemoveRequest, parseRolloutRequest } from "../../../src/master/operations.js";
import { commandArgs, freeSlotIndex, moduleSlot, parseAnnouncedSlot } from "../../../src/process/process-plan.js";

describe("ctl request parsing", () => {
  it("add: defaults to one local instance, keeps absolute code paths and a host id", () => {
    expect(parseAddRequest({ module: "mail" })).toEqual({ module: "mail", instances: 1 });
    expect(parseAddRequest({ module: "mail", instances: 2, from: "/x/mail.js", proto: "/x/mail.proto", host: "host-b" })).toEqual({
      module: "mail",
      instances: 2,
      from: "/x/mail.js",
      proto: "/x/mail.proto",
      host: "host-b",
    });
  });

  it.each([{}, { module: "Mail" }, { module: "mail", instances: 0 }, { module: "mail", from: "rel/mail.js" }, { module: "mail", host: "a.b" }])("add rejects %j with BAD_REQUEST", (body) => {
    expect(() => parseAddRequest(body)).toThrow(expect.objectContaining({ code: "BAD_REQUEST" }));
  });

  it("remove and rollout name a module; rollout may bring new code", () => {
    expect(parseRemoveRequest({ module: "echo" })).toEqual({ module: "echo" });
    expect(parseRolloutRequest({ module: "echo", from: "/v2/echo.js" })).toEqual({ module: "echo", from: "/v2/echo.js" });
    expect(() => parseRolloutRequest({ module: "echo", from: 3 })).toThrow(expect.objectContaining({ code: "BAD_REQUEST" }));
  });
});

describe("slots", () => {
  it("round-trips through the announced JSON, and rejects what is not a slot", () => {
    const slot = moduleSlot("mail", 3, { from: "/m/mail.js", host: "host-b" });
    expect(parseAnnouncedSlot(JSON.stringify(slot))).toEqual(slot);
    const gw = { key: "gateway/gw-1", kind: "gateway", module: "gateway", gatewayId: "gw-1", listen: { host: "127.0.0.1", port: 3250 } };
    expect(parseAnnouncedSlot(JSON.stringify(gw))).toEqual(gw);
    for (const bad of [undefined, "", "{", "null", '{"key":"x"}', '{"key":"g","kind":"gateway","module":"gateway"}']) expect(parseAnnouncedSlot(bad)).toBeNull();
  });

  it("takes the lowest free index and passes the code file to the child", () => {
    expect(freeSlotIndex("echo", new Set(["echo/0", "echo/2"]))).toBe(1);
    expect(freeSlotIndex("echo", new Set())).toBe(0);
    expect(commandArgs(moduleSlot("mail", 0, { from: "/m/mail.js", proto: "/m/mail.proto" }), "mail-1a2b", "/c.json")).toEqual([
      "module", "mail", "--instance", "mail-1a2b", "--config", "/c.json", "--from", "/m/mail.js", "--proto", "/m/mail.proto",
    ]);
  });
});
