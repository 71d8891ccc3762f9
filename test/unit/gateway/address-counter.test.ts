import { describe, expect, it } from "vitest";
import { AddressCounter } from "../../../src/gateway/address-counter.js";

describe("AddressCounter", () => {
  it("accepts up to the limit per address and frees a place on close; the map holds open addresses only", () => {
    const c = new AddressCounter(2);
    expect([c.open("a"), c.open("a"), c.open("a"), c.open("b")]).toEqual([true, true, false, true]);
    c.close("a");
    expect(c.open("a")).toBe(true);
    c.close("a");
    c.close("a");
    c.close("b");
    expect(c.addresses).toBe(0);
  });

  it("limit 0 counts nothing", () => {
    const c = new AddressCounter(0);
    for (let i = 0; i < 1000; i++) expect(c.open("a")).toBe(true);
    expect(c.addresses).toBe(0);
  });
});
