/** Pure tic-tac-toe rules: no I/O, no timers, so they are unit-tested on their own. */

/** A mark on the board; "." is an empty cell. */
export const Mark = { x: "X", o: "O", empty: "." } as const;
export type Mark = (typeof Mark)[keyof typeof Mark];

/** Why a move is refused. */
export const MoveRefusal = {
  notPlaying: "not-playing",
  notYourTurn: "not-your-turn",
  badCell: "bad-cell",
  occupied: "occupied",
} as const;
export type MoveRefusal = (typeof MoveRefusal)[keyof typeof MoveRefusal];

/** Outcome of a finished game: the winning mark, or "draw". */
export type Outcome = typeof Mark.x | typeof Mark.o | "draw";

const LINES: readonly (readonly [number, number, number])[] = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6],
];

/** Number of cells; cells are numbered 0..8 row by row. */
export const CELLS = 9;

/** One game: X (seat 0) moves first, then turns alternate. */
export class TicTacToe {
  private readonly cells: Mark[] = Array<Mark>(CELLS).fill(Mark.empty);
  private next: typeof Mark.x | typeof Mark.o = Mark.x;
  private result: Outcome | null = null;

  /** The board as 9 characters ("X", "O", "."), row by row. */
  get board(): string {
    return this.cells.join("");
  }

  /** The mark that moves next, or null once the game is over. */
  get turn(): typeof Mark.x | typeof Mark.o | null {
    return this.result === null ? this.next : null;
  }

  /** The outcome, or null while the game runs. */
  get outcome(): Outcome | null {
    return this.result;
  }

  /** Why `mark` may not play `cell` now, or null when the move is legal. */
  check(mark: typeof Mark.x | typeof Mark.o, cell: number): MoveRefusal | null {
    if (this.result !== null) return MoveRefusal.notPlaying;
    if (mark !== this.next) return MoveRefusal.notYourTurn;
    if (!Number.isInteger(cell) || cell < 0 || cell >= CELLS) return MoveRefusal.badCell;
    if (this.cells[cell] !== Mark.empty) return MoveRefusal.occupied;
    return null;
  }

  /** Plays a legal move (see {@link check}); returns the outcome if the move ended the game. */
  play(mark: typeof Mark.x | typeof Mark.o, cell: number): Outcome | null {
    const refusal = this.check(mark, cell);
    if (refusal !== null) throw new Error(`illegal move ${mark}@${cell}: ${refusal}`);
    this.cells[cell] = mark;
    if (LINES.some(([a, b, c]) => this.cells[a] === mark && this.cells[b] === mark && this.cells[c] === mark)) {
      this.result = mark;
    } else if (!this.cells.includes(Mark.empty)) {
      this.result = "draw";
    } else {
      this.next = mark === Mark.x ? Mark.o : Mark.x;
    }
    return this.result;
  }

  /** Ends the game early in favour of `mark` (the other player left). */
  forfeit(winner: typeof Mark.x | typeof Mark.o): void {
    if (this.result === null) this.result = winner;
  }
}
