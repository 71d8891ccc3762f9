import { describe, expect, it } from "vitest";
import { SessionOrder } from "../../../src/module/session-order.js";

describe("SessionOrder", () => {
  it("queues a session's requests behind its running one and hands them back in arrival order", () => {
    const order = new SessionOrder<string>();
    expect(order.busy("gw-1", "7")).toBe(false);
    order.hold("gw-1", "7");
    expect(order.busy("gw-1", "7")).toBe(true);
    order.wait("gw-1", "7", "b");
    order.wait("gw-1", "7", "c");
    expect(order.next("gw-1", "7")).toBe("b"); // b runs now: the session stays held
    expect(order.busy("gw-1", "7")).toBe(true);
    order.wait("gw-1", "7", "d");
    expect(order.next("gw-1", "7")).toBe("c");
    expect(order.next("gw-1", "7")).toBe("d");
    expect(order.next("gw-1", "7")).toBeNull(); // nothing waits: free again
    expect(order.busy("gw-1", "7")).toBe(false);
    expect(order.size).toBe(0);
  });

  it("keeps sessions apart, by gateway and session id", () => {
    const order = new SessionOrder<number>();
    order.hold("gw-1", "1");
    order.hold("gw-2", "1");
    expect(order.busy("gw-1", "2")).toBe(false);
    expect(order.size).toBe(2);
    order.wait("gw-2", "1", 5);
    expect(order.next("gw-1", "1")).toBeNull();
    expect(order.busy("gw-2", "1")).toBe(true);
    expect(order.next("gw-2", "1")).toBe(5);
    expect(order.next("gw-2", "1")).toBeNull();
    expect(order.size).toBe(0);
    expect(order.next("gw-3", "9")).toBeNull(); // unknown: nothing to do
  });
});
