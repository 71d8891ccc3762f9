import { describe, expect, it } from "vitest";
import { RequestLane } from "../../../src/gateway/request-lane.js";
import type { RouteInfo } from "../../../src/gateway/route-cache.js";

const info: RouteInfo = { route: "m.A", module: "m", method: "A", subject: "svc.m.A", isPublic: false };

describe("RequestLane", () => {
  it("hands requests back in the order queued, copying their bodies", () => {
    const lane = new RequestLane();
    const frame = Buffer.from("abc");
    lane.push(1, info, frame);
    frame[0] = 0x7a; // the gateway reuses frame buffers: the queued body must not change
    lane.push(2, info, Buffer.from("def"));
    expect(lane.waiting).toBe(2);
    const a = lane.shift()!;
    expect([a.id, Buffer.from(a.body).toString()]).toEqual([1, "abc"]);
    expect(lane.shift()!.id).toBe(2);
    expect(lane.shift()).toBeNull();
    expect(lane.waiting).toBe(0);
  });

  it("clear drops what waits and reports how many", () => {
    const lane = new RequestLane();
    lane.busy = true;
    for (let i = 1; i <= 3; i++) lane.push(i, info, Buffer.from("x"));
    lane.shift();
    expect(lane.clear()).toBe(2);
    expect(lane.busy).toBe(false);
    expect(lane.shift()).toBeNull();
  });
});
