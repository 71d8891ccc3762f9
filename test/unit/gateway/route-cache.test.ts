import { describe, expect, it } from "vitest";
import { RouteCache } from "../../../src/gateway/route-cache.js";

describe("RouteCache", () => {
  it("maps a route to its service subject and public flag", () => {
    const c = new RouteCache(["login.Login"]);
    expect(c.lookup("login.Login")).toMatchObject({ module: "login", method: "Login", subject: "svc.login.Login", isPublic: true });
    expect(c.lookup("rank.Top")).toMatchObject({ subject: "svc.rank.Top", isPublic: false });
  });

  it("rejects malformed routes without caching them", () => {
    const c = new RouteCache([]);
    for (const r of ["", "nodot", "a.b.c", ".x", "x.", "a.*", "a.>", "a b.c"]) expect(c.lookup(r)).toBeNull();
    expect(c.size).toBe(0);
  });

  it("stays bounded under many distinct routes", () => {
    const c = new RouteCache([], 10);
    for (let i = 0; i < 100; i++) expect(c.lookup(`m${i}.X`)?.subject).toBe(`svc.m${i}.X`);
    expect(c.size).toBe(10);
  });
});
