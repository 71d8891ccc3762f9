import { describe, expect, it } from "vitest";
import { withoutReplayed, type HeldPush } from "../../../src/gateway/push-overlap.js";

const held = (id: string, byte: number): HeldPush => ({ frame: Buffer.from([byte]), id });

describe("withoutReplayed (the overlap of a move)", () => {
  it("drops the held pushes the replay delivered, by publication id, and keeps the order of the rest", () => {
    const h = [held("m.1", 1), held("m.2", 2), held("", 3), held("m.3", 4), held("m.4", 5)];
    const out = withoutReplayed(h, new Set(["m.1", "m.3", "m.0"]));
    expect(out.map((x) => x.frame[0])).toEqual([2, 3, 5]);
  });

  it("never drops a push without an id (a point push reaches one session only), even when the bytes repeat", () => {
    const h = [held("", 7), held("", 7)];
    expect(withoutReplayed(h, new Set(["m.1"]))).toHaveLength(2);
  });

  it("keeps everything when nothing was replayed", () => {
    const h = [held("m.1", 1)];
    expect(withoutReplayed(h, new Set())).toEqual(h);
  });
});
