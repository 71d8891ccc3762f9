import { describe, expect, it } from "vitest";
import { SessionOrder, type OrderSlot, type Ready } from "../../../src/module/session-order.js";

/** A waiting request: its name and whether its route is pipelined. */
interface Item {
  name: string;
  pipelined: boolean;
}

/** Drives a SessionOrder for one session the way the module host does, recording what runs and what is answered. */
class Session {
  readonly order = new SessionOrder<Item>((i) => i.pipelined);
  readonly started: string[] = [];
  readonly answered: string[] = [];
  private readonly slots = new Map<string, OrderSlot>();

  constructor(
    private readonly gateway = "gw-1",
    private readonly sid = "7",
  ) {}

  /** A request arrives; it goes asynchronous (finishes when `end` is called). */
  arrive(name: string, pipelined: boolean): void {
    if (this.order.idle(this.gateway, this.sid)) {
      this.begin(name, this.order.open(this.gateway, this.sid, pipelined));
      return;
    }
    const slot = this.order.join(this.gateway, this.sid, pipelined);
    if (slot !== null) this.begin(name, slot);
    else this.order.wait(this.gateway, this.sid, { name, pipelined });
  }

  end(name: string): void {
    const slot = this.slots.get(name)!;
    this.slots.delete(name);
    this.startAll(this.order.finish(this.gateway, this.sid, slot, () => this.answered.push(name)));
  }

  private begin(name: string, slot: OrderSlot): void {
    this.started.push(name);
    this.slots.set(name, slot);
  }

  private startAll(ready: Ready<Item>[] | null): void {
    for (const r of ready ?? []) this.begin(r.item.name, r.slot);
  }
}

describe("SessionOrder", () => {
  it("runs a session's requests of routes that are not pipelined one at a time, in arrival order", () => {
    const s = new Session();
    s.arrive("a", false);
    s.arrive("b", false);
    s.arrive("c", false);
    expect(s.started).toEqual(["a"]);
    s.end("a");
    expect(s.started).toEqual(["a", "b"]);
    expect(s.answered).toEqual(["a"]);
    s.end("b");
    s.end("c");
    expect(s.started).toEqual(["a", "b", "c"]);
    expect(s.answered).toEqual(["a", "b", "c"]);
    expect(s.order.size).toBe(0);
    expect(s.order.idle("gw-1", "7")).toBe(true);
  });

  it("starts pipelined requests behind running pipelined ones and still answers in arrival order", () => {
    const s = new Session();
    s.arrive("p1", true);
    s.arrive("p2", true);
    s.arrive("p3", true);
    expect(s.started).toEqual(["p1", "p2", "p3"]);
    s.end("p3"); // ready first: held until p1 and p2 are answered
    s.end("p2");
    expect(s.answered).toEqual([]);
    s.end("p1");
    expect(s.answered).toEqual(["p1", "p2", "p3"]);
    expect(s.order.size).toBe(0);
  });

  it("a request that is not pipelined waits for everything before it, and everything after it waits for it", () => {
    const s = new Session();
    s.arrive("p1", true);
    s.arrive("p2", true);
    s.arrive("x", false);
    s.arrive("p3", true); // behind x: does not overtake it
    expect(s.started).toEqual(["p1", "p2"]);
    s.end("p1");
    expect(s.started).toEqual(["p1", "p2"]);
    s.end("p2");
    expect(s.started).toEqual(["p1", "p2", "x"]);
    s.arrive("p4", true);
    s.end("x");
    expect(s.started).toEqual(["p1", "p2", "x", "p3", "p4"]);
    s.end("p4");
    s.end("p3");
    expect(s.answered).toEqual(["p1", "p2", "x", "p3", "p4"]);
    expect(s.order.size).toBe(0);
  });

  it("a pipelined request does not start beside a running one that is not pipelined", () => {
    const s = new Session();
    s.arrive("x", false);
    s.arrive("p1", true);
    expect(s.started).toEqual(["x"]);
    s.end("x");
    expect(s.started).toEqual(["x", "p1"]);
  });

  it("keeps sessions apart, by gateway and session id", () => {
    const a = new SessionOrder<Item>((i) => i.pipelined);
    const sa = a.open("gw-1", "1", false);
    a.open("gw-2", "1", false);
    expect(a.idle("gw-1", "2")).toBe(true);
    expect(a.idle("gw-2", "1")).toBe(false);
    expect(a.size).toBe(2);
    expect(a.join("gw-1", "1", true)).toBeNull();
    a.wait("gw-1", "1", { name: "next", pipelined: true });
    const answered: string[] = [];
    const ready = a.finish("gw-1", "1", sa, () => answered.push("first"));
    expect(answered).toEqual(["first"]);
    expect(ready?.map((r) => r.item.name)).toEqual(["next"]);
    a.finish("gw-1", "1", ready![0]!.slot, () => answered.push("next"));
    expect(answered).toEqual(["first", "next"]);
    expect(a.size).toBe(1);
    expect(a.idle("gw-1", "1")).toBe(true);
  });
});
