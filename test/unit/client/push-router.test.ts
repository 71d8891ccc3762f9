import { describe, expect, it } from "vitest";
import { PushRouter } from "../../../src/client/push-router.js";

describe("PushRouter", () => {
  it("delivers to every handler of the route only", () => {
    const errors: unknown[] = [];
    const r = new PushRouter((e) => errors.push(e));
    const got: string[] = [];
    r.add("game.RoomEvent", (b) => got.push(`a${b[0]}`));
    r.add("game.RoomEvent", (b) => got.push(`b${b[0]}`));
    r.add("chat.Message", () => got.push("chat"));
    expect(r.dispatch("game.RoomEvent", new Uint8Array([1]))).toBe(2);
    expect(r.dispatch("nobody.Listens", new Uint8Array([1]))).toBe(0);
    expect(got).toEqual(["a1", "b1"]);
  });

  it("keeps delivering when a handler throws, reporting the error", () => {
    const errors: unknown[] = [];
    const r = new PushRouter((e, route) => errors.push([String(e), route]));
    let after = 0;
    r.add("x.Y", () => {
      throw new Error("boom");
    });
    r.add("x.Y", () => void after++);
    r.dispatch("x.Y", new Uint8Array());
    expect(after).toBe(1);
    expect(errors).toEqual([["Error: boom", "x.Y"]]);
  });

  it("unsubscribes, also during dispatch", () => {
    const r = new PushRouter(() => {});
    let n = 0;
    const off = r.add("x.Y", () => {
      n++;
      off();
    });
    r.add("x.Y", () => void n++);
    r.dispatch("x.Y", new Uint8Array());
    r.dispatch("x.Y", new Uint8Array());
    expect(n).toBe(3);
    off();
    expect(r.has("x.Y")).toBe(true);
  });
});
