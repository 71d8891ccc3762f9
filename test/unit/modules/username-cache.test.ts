import { describe, expect, it } from "vitest";
import { UsernameCache } from "../../../modules/shared/username-cache.js";

/** Accounts as login would answer for them, and every batch of uids it was asked for. */
function fakeLogin(accounts: Map<string, string>) {
  const asked: string[][] = [];
  const lookup = async (uids: readonly string[]) => {
    asked.push([...uids]);
    return new Map(uids.map((u) => [u, accounts.get(u) ?? ""]));
  };
  return { asked, lookup };
}

describe("UsernameCache", () => {
  it("asks once for the misses, serves names from memory after, and does not cache unknown uids", async () => {
    const accounts = new Map([["c1", "alice"]]);
    const login = fakeLogin(accounts);
    const cache = new UsernameCache(login.lookup);
    expect([...(await cache.lookup(["c1", "c2"]))]).toEqual([["c1", "alice"], ["c2", ""]]);
    expect(cache.size).toBe(1);
    accounts.delete("c1");
    accounts.set("c2", "bob");
    expect([...(await cache.lookup(["c1", "c2"]))]).toEqual([["c1", "alice"], ["c2", "bob"]]);
    expect(login.asked).toEqual([["c1", "c2"], ["c2"]]);
    await cache.lookup(["c1", "c2"]);
    expect(login.asked).toHaveLength(2);
  });

  it("concurrent lookups of one uid share one lookup of login", async () => {
    const login = fakeLogin(new Map([["p1", "pat"], ["p2", "sam"]]));
    const cache = new UsernameCache(login.lookup);
    const results = await Promise.all([cache.lookup(["p1", "p2"]), cache.lookup(["p2"]), cache.lookup(["p1", "p3"])]);
    expect(results.map((m) => Object.fromEntries(m))).toEqual([{ p1: "pat", p2: "sam" }, { p2: "sam" }, { p1: "pat", p3: "" }]);
    expect(login.asked).toEqual([["p1", "p2"], ["p3"]]);
  });

  it("keeps at most maxSize uids, dropping the oldest", async () => {
    const accounts = new Map(["e1", "e2", "e3"].map((u) => [u, `name-${u}`]));
    const cache = new UsernameCache(fakeLogin(accounts).lookup, 2);
    await cache.lookup(["e1", "e2", "e3"]);
    expect(cache.size).toBe(2);
    accounts.delete("e1");
    expect((await cache.lookup(["e1"])).get("e1")).toBe("");
    expect(() => new UsernameCache(fakeLogin(accounts).lookup, 0)).toThrow(/integer >= 1/);
  });
});
