/** Map bounds and cell size of a nine-grid AOI. */
export interface GridSpec {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
  readonly cellSize: number;
}

/** Who came into and went out of view, both ways, when one player changed cell. */
export interface ViewChange {
  readonly appeared: readonly string[];
  readonly disappeared: readonly string[];
}

const NO_CHANGE: ViewChange = { appeared: [], disappeared: [] };

/**
 * A nine-grid area of interest: the map is cut into square cells and a player sees every
 * player in its own cell and the eight around it. Seeing is symmetric, so every change is
 * reported once and applies to both sides (A appears for B exactly when B appears for A).
 * Positions outside the bounds count in the nearest edge cell.
 */
export class AoiGrid {
  readonly spec: GridSpec;
  readonly cols: number;
  readonly rows: number;
  private readonly cells: Set<string>[];
  private readonly cellOfId = new Map<string, number>();

  constructor(spec: GridSpec) {
    if (!(spec.maxX > spec.minX && spec.maxY > spec.minY)) throw new RangeError("grid bounds are empty: max must exceed min");
    if (!(spec.cellSize > 0)) throw new RangeError("grid cellSize must be > 0");
    this.spec = spec;
    this.cols = Math.max(1, Math.ceil((spec.maxX - spec.minX) / spec.cellSize));
    this.rows = Math.max(1, Math.ceil((spec.maxY - spec.minY) / spec.cellSize));
    this.cells = Array.from({ length: this.cols * this.rows }, () => new Set<string>());
  }

  /** Players on the grid. */
  get size(): number {
    return this.cellOfId.size;
  }

  has(id: string): boolean {
    return this.cellOfId.has(id);
  }

  /** Column and row of a position. */
  cellAt(x: number, y: number): { col: number; row: number } {
    const col = clamp(Math.floor((x - this.spec.minX) / this.spec.cellSize), 0, this.cols - 1);
    const row = clamp(Math.floor((y - this.spec.minY) / this.spec.cellSize), 0, this.rows - 1);
    return { col, row };
  }

  /** Cell index of a player, or -1 when it is not on the grid. */
  cellOf(id: string): number {
    return this.cellOfId.get(id) ?? -1;
  }

  /** Places a new player; returns the players it now sees (who now see it). */
  enter(id: string, x: number, y: number): string[] {
    if (this.cellOfId.has(id)) throw new Error(`${id} is already on the grid`);
    const cell = this.indexAt(x, y);
    const seen: string[] = [];
    this.forEachNeighbour(cell, id, (other) => seen.push(other));
    this.cells[cell]!.add(id);
    this.cellOfId.set(id, cell);
    return seen;
  }

  /** Moves a player; when it changed cell, returns who came into and went out of view. */
  move(id: string, x: number, y: number): ViewChange {
    const from = this.cellOfId.get(id);
    if (from === undefined) throw new Error(`${id} is not on the grid`);
    const to = this.indexAt(x, y);
    if (to === from) return NO_CHANGE;
    this.cells[from]!.delete(id);
    this.cells[to]!.add(id);
    this.cellOfId.set(id, to);
    const appeared: string[] = [];
    const disappeared: string[] = [];
    this.forEachCellAround(to, (c) => {
      if (!this.adjacent(c, from)) for (const other of this.cells[c]!) if (other !== id) appeared.push(other);
    });
    this.forEachCellAround(from, (c) => {
      if (!this.adjacent(c, to)) for (const other of this.cells[c]!) if (other !== id) disappeared.push(other);
    });
    return { appeared, disappeared };
  }

  /** Removes a player; returns the players that saw it. */
  leave(id: string): string[] {
    const cell = this.cellOfId.get(id);
    if (cell === undefined) return [];
    this.cells[cell]!.delete(id);
    this.cellOfId.delete(id);
    const saw: string[] = [];
    this.forEachNeighbour(cell, id, (other) => saw.push(other));
    return saw;
  }

  /** Calls `fn` for every player `id` sees (not itself). */
  forEachVisible(id: string, fn: (other: string) => void): void {
    const cell = this.cellOfId.get(id);
    if (cell !== undefined) this.forEachNeighbour(cell, id, fn);
  }

  /** The players `id` sees. */
  visibleTo(id: string): string[] {
    const out: string[] = [];
    this.forEachVisible(id, (o) => out.push(o));
    return out;
  }

  /** True when cells a and b are the same or touch (sides or corners). */
  adjacent(a: number, b: number): boolean {
    const dc = Math.abs((a % this.cols) - (b % this.cols));
    const dr = Math.abs(Math.floor(a / this.cols) - Math.floor(b / this.cols));
    return dc <= 1 && dr <= 1;
  }

  private indexAt(x: number, y: number): number {
    const { col, row } = this.cellAt(x, y);
    return row * this.cols + col;
  }

  private forEachNeighbour(cell: number, self: string, fn: (other: string) => void): void {
    this.forEachCellAround(cell, (c) => {
      for (const other of this.cells[c]!) if (other !== self) fn(other);
    });
  }

  private forEachCellAround(cell: number, fn: (c: number) => void): void {
    const col = cell % this.cols;
    const row = Math.floor(cell / this.cols);
    for (let r = Math.max(0, row - 1); r <= Math.min(this.rows - 1, row + 1); r++) {
      for (let c = Math.max(0, col - 1); c <= Math.min(this.cols - 1, col + 1); c++) fn(r * this.cols + c);
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
