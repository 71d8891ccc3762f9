import { describe, expect, it } from "vitest";
import { AFFINITY_IDLE_MS, RequestLane, type QueuedRequest } from "../../../src/gateway/request-lane.js";
import type { RouteInfo } from "../../../src/gateway/route-cache.js";

const info: RouteInfo = { route: "m.A", module: "m", method: "A", subject: "svc.m.A", isPublic: false };
const infoB: RouteInfo = { route: "m.B", module: "m", method: "B", subject: "svc.m.B", isPublic: false };

/** What the forwarder does with a lane: send while `target` allows, queue otherwise. */
function arrive(lane: RequestLane, id: number, route: RouteInfo, now: number, sent: [number, string][]): void {
  const subject = lane.mayPass ? lane.target(route, null, now) : null;
  if (subject === null) {
    lane.enqueue(id, route, Buffer.from(String(id)));
    return;
  }
  lane.sent();
  sent.push([id, subject]);
}

function pump(lane: RequestLane, now: number, sent: [number, string][], pinned: string | null = null): void {
  for (let q = lane.peek(); q !== null; q = lane.peek()) {
    const subject = lane.target(q.info, pinned, now);
    if (subject === null) return;
    lane.shift();
    lane.sent();
    sent.push([q.id, subject]);
  }
}

describe("RequestLane", () => {
  it("queues copies of the bodies and hands them back in order", () => {
    const lane = new RequestLane();
    const frame = Buffer.from("abc");
    lane.enqueue(1, info, frame);
    frame[0] = 0x7a; // the gateway reuses frame buffers: the queued body must not change
    lane.enqueue(2, info, Buffer.from("def"));
    expect(lane.waiting).toBe(2);
    const a = lane.shift()!;
    expect([a.id, Buffer.from(a.body).toString()]).toEqual([1, "abc"]);
    expect(lane.shift()!.id).toBe(2);
    expect(lane.shift()).toBeNull();
    expect(lane.waiting).toBe(0);
  });

  it("sends one at a time through the queue group until an instance names itself, then pipelines to it", () => {
    const lane = new RequestLane();
    const sent: [number, string][] = [];
    for (let id = 1; id <= 4; id++) arrive(lane, id, id === 3 ? infoB : info, 0, sent);
    expect(sent).toEqual([[1, "svc.m.A"]]);
    expect(lane.waiting).toBe(3);
    lane.settled("m-1", false, 1);
    pump(lane, 1, sent);
    // Everything waiting goes out at once, straight to the instance, in order.
    expect(sent).toEqual([
      [1, "svc.m.A"],
      [2, "inst.m-1.A"],
      [3, "inst.m-1.B"],
      [4, "inst.m-1.A"],
    ]);
    expect(lane.out).toBe(3);
    // A new arrival while they are out does not wait either.
    arrive(lane, 5, info, 2, sent);
    expect(sent.at(-1)).toEqual([5, "inst.m-1.A"]);
    expect(lane.pipelinedTo).toBe("m-1");
  });

  it("keeps the instance across a short idle gap, forgets it after AFFINITY_IDLE_MS", () => {
    const lane = new RequestLane();
    const sent: [number, string][] = [];
    arrive(lane, 1, info, 0, sent);
    lane.settled("m-1", false, 10);
    arrive(lane, 2, info, 10 + AFFINITY_IDLE_MS, sent);
    expect(sent.at(-1)).toEqual([2, "inst.m-1.A"]);
    lane.settled(undefined, false, 100);
    arrive(lane, 3, info, 101 + AFFINITY_IDLE_MS, sent);
    expect(sent.at(-1)).toEqual([3, "svc.m.A"]);
    expect(lane.pipelinedTo).toBeNull();
  });

  it("falls back to one at a time when the instance drains, and after a TIMEOUT", () => {
    for (const how of ["drains", "timeout"] as const) {
      const lane = new RequestLane();
      const sent: [number, string][] = [];
      arrive(lane, 1, info, 0, sent);
      lane.settled("m-1", false, 0);
      arrive(lane, 2, info, 0, sent);
      arrive(lane, 3, info, 0, sent);
      expect(lane.out).toBe(2);
      if (how === "drains") lane.settled("", false, 1);
      else lane.settled(undefined, true, 1);
      arrive(lane, 4, info, 1, sent);
      expect(lane.waiting).toBe(1); // 3 is still out: 4 waits for it
      lane.settled(undefined, how === "timeout", 2);
      pump(lane, 2, sent);
      expect(sent.at(-1)).toEqual([4, "svc.m.A"]);
      arrive(lane, 5, info, 2, sent);
      expect(sent.at(-1)![0]).toBe(4);
      lane.settled("m-2", false, 3);
      pump(lane, 3, sent);
      expect(sent.at(-1)).toEqual([5, "inst.m-2.A"]);
    }
  });

  it("sends bounced messages again first, in order, once everything out has settled", () => {
    const lane = new RequestLane();
    const sent: [number, string][] = [];
    arrive(lane, 1, info, 0, sent);
    lane.settled("m-1", false, 0);
    for (let id = 2; id <= 5; id++) arrive(lane, id, info, 0, sent);
    expect(lane.out).toBe(4);
    const q = (id: number): QueuedRequest => ({ id, info, body: Buffer.from(String(id)) });
    // 2 and 3 were delivered; 4 and 5 found the instance gone.
    lane.bounce(q(4), 1);
    arrive(lane, 6, info, 1, sent); // arrives meanwhile: waits behind the bounced ones
    // 2's answer (sent before the instance left) must not restart pipelining to it.
    lane.settled("m-1", false, 1);
    lane.bounce(q(5), 1);
    pump(lane, 1, sent);
    expect(sent.map(([id]) => id)).toEqual([1, 2, 3, 4, 5]);
    lane.settled(undefined, false, 2); // 3 answered: nothing out any more
    pump(lane, 2, sent);
    expect(sent.slice(5)).toEqual([[4, "svc.m.A"]]);
    lane.settled("m-2", false, 3);
    pump(lane, 3, sent);
    expect(sent.slice(6)).toEqual([
      [5, "inst.m-2.A"],
      [6, "inst.m-2.A"],
    ]);
  });

  it("goes one at a time to the pinned subject while the session is pinned", () => {
    const lane = new RequestLane();
    const sent: [number, string][] = [];
    arrive(lane, 1, info, 0, sent);
    lane.settled("m-1", false, 0);
    expect(lane.target(info, "inst.room-7.A", 0)).toBe("inst.room-7.A");
    lane.sent();
    expect(lane.target(info, "inst.room-7.A", 0)).toBeNull();
    expect(lane.pipelinedTo).toBeNull();
  });

  it("clear drops what waits and reports how many", () => {
    const lane = new RequestLane();
    const sent: [number, string][] = [];
    for (let i = 1; i <= 3; i++) arrive(lane, i, info, 0, sent);
    lane.bounce({ id: 1, info, body: Buffer.from("1") }, 0);
    expect(lane.clear()).toBe(3);
    expect(lane.shift()).toBeNull();
    expect(lane.idle).toBe(true);
  });
});
