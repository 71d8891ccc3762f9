import { describe, expect, it } from "vitest";
import { AoiGrid } from "../../../modules/scene/grid.js";

const spec = { minX: 0, minY: 0, maxX: 100, maxY: 100, cellSize: 10 };
const sorted = (a: readonly string[]) => [...a].sort();

describe("AoiGrid (nine-grid AOI)", () => {
  it("cuts the bounds into cells and clamps positions outside them to the edge cells", () => {
    const g = new AoiGrid({ minX: -50, minY: 0, maxX: 55, maxY: 20, cellSize: 10 });
    expect([g.cols, g.rows]).toEqual([11, 2]);
    expect(g.cellAt(-50, 0)).toEqual({ col: 0, row: 0 });
    expect(g.cellAt(-1000, -5)).toEqual({ col: 0, row: 0 });
    expect(g.cellAt(54.9, 19.9)).toEqual({ col: 10, row: 1 });
    expect(g.cellAt(1e9, 1e9)).toEqual({ col: 10, row: 1 });
    expect(() => new AoiGrid({ ...spec, cellSize: 0 })).toThrow(RangeError);
    expect(() => new AoiGrid({ ...spec, maxX: 0 })).toThrow(RangeError);
  });

  it("enter: a player sees the players of its nine cells, not beyond", () => {
    const g = new AoiGrid(spec);
    expect(g.enter("a", 55, 55)).toEqual([]); // cell (5,5)
    expect(g.enter("corner", 45, 45)).toEqual(["a"]); // (4,4): diagonal neighbour
    expect(g.enter("far", 75, 55)).toEqual([]); // (7,5): two columns away
    expect(sorted(g.enter("b", 65, 64))).toEqual(["a", "far"]); // (6,6) touches (5,5) and (7,5)
    expect(sorted(g.visibleTo("a"))).toEqual(["b", "corner"]);
    expect(sorted(g.visibleTo("far"))).toEqual(["b"]);
    expect(() => g.enter("a", 1, 1)).toThrow("already on the grid");
  });

  it("move inside a cell changes nothing; crossing a boundary reports exactly who appears and disappears", () => {
    const g = new AoiGrid(spec);
    g.enter("m", 15, 15); // (1,1)
    g.enter("west", 5, 15); // (0,1): seen from (1,1), not from (2,1)... (0,1) and (2,1) are 2 apart
    g.enter("mid", 25, 15); // (2,1): seen from both (1,1) and (2,1)
    g.enter("east", 35, 15); // (3,1): seen only from (2,1)
    expect(g.move("m", 19.9, 10)).toEqual({ appeared: [], disappeared: [] });
    const change = g.move("m", 20, 10); // (1,1) → (2,1)
    expect(change).toEqual({ appeared: ["east"], disappeared: ["west"] });
    expect(sorted(g.visibleTo("m"))).toEqual(["east", "mid"]);
    expect(g.visibleTo("west")).toEqual([]);
    // A diagonal jump over several cells: everything old out, everything new in.
    const jump = g.move("m", 95, 95);
    expect(sorted(jump.disappeared)).toEqual(["east", "mid"]);
    expect(jump.appeared).toEqual([]);
    expect(() => g.move("nobody", 1, 1)).toThrow("not on the grid");
  });

  it("leave: returns those who saw the player; it is gone from every view", () => {
    const g = new AoiGrid(spec);
    g.enter("a", 5, 5);
    g.enter("b", 15, 5);
    g.enter("c", 95, 95);
    expect(g.leave("a")).toEqual(["b"]);
    expect(g.visibleTo("b")).toEqual([]);
    expect(g.has("a")).toBe(false);
    expect(g.size).toBe(2);
    expect(g.leave("a")).toEqual([]);
  });

  it("one cell covering the bounds is the whole scene: everyone sees everyone (AOI off)", () => {
    const g = new AoiGrid({ ...spec, cellSize: 100 });
    expect([g.cols, g.rows]).toEqual([1, 1]);
    g.enter("a", 0, 0);
    g.enter("b", 99, 99);
    expect(g.move("a", 50, 50)).toEqual({ appeared: [], disappeared: [] });
    expect(g.visibleTo("a")).toEqual(["b"]);
  });
});
