import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AoiGrid, type GridSpec } from "../../../modules/scene/grid.js";

/**
 * Random enters, moves and leaves; each player's view is kept only from the events the grid
 * reports (enter, appeared/disappeared, leave) and must equal, after every step, the set a
 * brute-force check computes from the positions: |Δcol| ≤ 1 and |Δrow| ≤ 1 of the clamped cells.
 * fast-check prints the seed and the shrunk failing sequence; replay with SCENE_PROPERTY_SEED.
 */

type Op = { kind: "enter" | "move"; id: number; x: number; y: number } | { kind: "leave"; id: number };

const spec: GridSpec = { minX: -20, minY: 0, maxX: 80, maxY: 60, cellSize: 10 };
// Tenths of a unit, unbiased: positions land anywhere on the map, on cell boundaries and past the edges.
const coord = (lo: number, hi: number) => fc.noBias(fc.integer({ min: (lo - 15) * 10, max: (hi + 15) * 10 })).map((v) => v / 10);
const op: fc.Arbitrary<Op> = fc.oneof(
  { depthSize: "max" },
  fc.record({ kind: fc.constant("enter" as const), id: fc.noBias(fc.nat(24)), x: coord(spec.minX, spec.maxX), y: coord(spec.minY, spec.maxY) }),
  fc.record({ kind: fc.constant("move" as const), id: fc.noBias(fc.nat(24)), x: coord(spec.minX, spec.maxX), y: coord(spec.minY, spec.maxY) }),
  fc.record({ kind: fc.constant("move" as const), id: fc.noBias(fc.nat(24)), x: coord(spec.minX, spec.maxX), y: coord(spec.minY, spec.maxY) }),
  fc.record({ kind: fc.constant("leave" as const), id: fc.noBias(fc.nat(24)) }),
);

function cellOf(x: number, y: number): { col: number; row: number } {
  const cols = Math.ceil((spec.maxX - spec.minX) / spec.cellSize);
  const rows = Math.ceil((spec.maxY - spec.minY) / spec.cellSize);
  const col = Math.min(cols - 1, Math.max(0, Math.floor((x - spec.minX) / spec.cellSize)));
  const row = Math.min(rows - 1, Math.max(0, Math.floor((y - spec.minY) / spec.cellSize)));
  return { col, row };
}

function bruteForceView(pos: Map<string, { x: number; y: number }>, id: string): string[] {
  const me = cellOf(pos.get(id)!.x, pos.get(id)!.y);
  return [...pos.keys()].filter((o) => {
    if (o === id) return false;
    const c = cellOf(pos.get(o)!.x, pos.get(o)!.y);
    return Math.abs(c.col - me.col) <= 1 && Math.abs(c.row - me.row) <= 1;
  }).sort();
}

function run(ops: Op[]): void {
  const grid = new AoiGrid(spec);
  const pos = new Map<string, { x: number; y: number }>();
  const views = new Map<string, Set<string>>();
  const see = (a: string, b: string) => {
    if (views.get(a)!.has(b)) expect.fail(`${b} appeared for ${a}, who already saw it`);
    views.get(a)!.add(b);
  };
  const unsee = (a: string, b: string) => {
    if (!views.get(a)!.delete(b)) expect.fail(`${b} disappeared for ${a}, who did not see it`);
  };
  for (const o of ops) {
    const id = `p${o.id}`;
    if (o.kind === "enter") {
      if (pos.has(id)) continue;
      views.set(id, new Set());
      for (const other of grid.enter(id, o.x, o.y)) { see(id, other); see(other, id); }
      pos.set(id, { x: o.x, y: o.y });
    } else if (o.kind === "move") {
      if (!pos.has(id)) continue;
      const change = grid.move(id, o.x, o.y);
      for (const other of change.appeared) { see(id, other); see(other, id); }
      for (const other of change.disappeared) { unsee(id, other); unsee(other, id); }
      pos.set(id, { x: o.x, y: o.y });
    } else {
      if (!pos.has(id)) continue;
      for (const other of grid.leave(id)) unsee(other, id);
      pos.delete(id);
      views.delete(id);
    }
    for (const p of pos.keys()) {
      const expected = bruteForceView(pos, p).join();
      // expect() only on a mismatch: it is slow, and this runs after every step for every player.
      const fromEvents = [...views.get(p)!].sort().join();
      if (fromEvents !== expected) expect(fromEvents, `view of ${p} after ${o.kind} ${id}`).toBe(expected);
      const fromGrid = grid.visibleTo(p).sort().join();
      if (fromGrid !== expected) expect(fromGrid, `grid view of ${p} after ${o.kind} ${id}`).toBe(expected);
    }
  }
}

describe("AoiGrid property: every view equals the brute-force cell check", () => {
  it("after random enters, moves and leaves (seeded)", () => {
    const seed = Number(process.env.SCENE_PROPERTY_SEED ?? 20261203);
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 300, size: "max" }), (ops) => run(ops)), { seed, numRuns: 200 });
  });
});
