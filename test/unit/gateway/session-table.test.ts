import { describe, expect, it } from "vitest";
import { SessionTable } from "../../../src/gateway/session-table.js";

interface Entry {
  sid: number;
  uid: string | null;
}

const setUid = (s: Entry, uid: string | null): void => {
  s.uid = uid;
};

describe("SessionTable", () => {
  it("hands out increasing sids and finds sessions by sid", () => {
    const t = new SessionTable<Entry>();
    const a = { sid: t.allocateSid(), uid: null };
    t.add(a);
    const b = { sid: t.allocateSid(), uid: null };
    t.add(b);
    expect([a.sid, b.sid]).toEqual([1, 2]);
    expect(t.get(2)).toBe(b);
    expect(t.size).toBe(2);
  });

  it("wraps around past uint32, skipping 0 and sids in use", () => {
    const t = new SessionTable<Entry>(0xfffffffe);
    t.add({ sid: 1, uid: null });
    expect(t.allocateSid()).toBe(0xfffffffe);
    expect(t.allocateSid()).toBe(0xffffffff);
    expect(t.allocateSid()).toBe(2);
  });

  it("indexes by uid, re-binds and unbinds", () => {
    const t = new SessionTable<Entry>();
    const a: Entry = { sid: t.allocateSid(), uid: null };
    const b: Entry = { sid: t.allocateSid(), uid: null };
    t.add(a);
    t.add(b);
    t.rebind(a, "u1", setUid);
    t.rebind(b, "u1", setUid);
    expect(t.byUser("u1")).toEqual([a, b]);
    t.rebind(a, "u2", setUid);
    expect(t.byUser("u1")).toEqual([b]);
    expect(t.byUser("u2")).toEqual([a]);
    t.rebind(a, null, setUid);
    expect(a.uid).toBeNull();
    expect(t.byUser("u2")).toEqual([]);
  });

  it("removing a session drops it from both indexes", () => {
    const t = new SessionTable<Entry>();
    const a: Entry = { sid: t.allocateSid(), uid: null };
    t.add(a);
    t.rebind(a, "u1", setUid);
    expect(t.remove(a)).toBe(true);
    expect(t.remove(a)).toBe(false);
    expect(t.get(a.sid)).toBeUndefined();
    expect(t.byUser("u1")).toEqual([]);
  });

  it("allows removing while iterating values()", () => {
    const t = new SessionTable<Entry>();
    for (let i = 0; i < 5; i++) t.add({ sid: t.allocateSid(), uid: null });
    let seen = 0;
    for (const s of t.values()) {
      seen++;
      t.remove(s);
    }
    expect(seen).toBe(5);
    expect(t.size).toBe(0);
  });
});
