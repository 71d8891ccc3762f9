import { describe, expect, it } from "vitest";
import { Mark, MoveRefusal, TicTacToe } from "../../../modules/game/tictactoe.js";

describe("tic-tac-toe rules", () => {
  it("X starts, turns alternate, a row wins", () => {
    const g = new TicTacToe();
    expect(g.turn).toBe(Mark.x);
    expect(g.check(Mark.o, 0)).toBe(MoveRefusal.notYourTurn);
    expect(g.play(Mark.x, 0)).toBeNull();
    expect(g.turn).toBe(Mark.o);
    g.play(Mark.o, 3);
    g.play(Mark.x, 1);
    g.play(Mark.o, 4);
    expect(g.play(Mark.x, 2)).toBe(Mark.x);
    expect(g.board).toBe("XXXOO....");
    expect(g.turn).toBeNull();
    expect(g.check(Mark.o, 5)).toBe(MoveRefusal.notPlaying);
  });

  it("refuses off-board and taken cells", () => {
    const g = new TicTacToe();
    expect(g.check(Mark.x, 9)).toBe(MoveRefusal.badCell);
    expect(g.check(Mark.x, -1)).toBe(MoveRefusal.badCell);
    expect(g.check(Mark.x, 1.5)).toBe(MoveRefusal.badCell);
    g.play(Mark.x, 4);
    expect(g.check(Mark.o, 4)).toBe(MoveRefusal.occupied);
    expect(() => g.play(Mark.o, 4)).toThrow(/occupied/);
  });

  it("detects columns, diagonals and a draw", () => {
    const col = new TicTacToe();
    for (const [m, c] of [[Mark.x, 1], [Mark.o, 0], [Mark.x, 4], [Mark.o, 2]] as const) col.play(m, c);
    expect(col.play(Mark.x, 7)).toBe(Mark.x);

    const diag = new TicTacToe();
    for (const [m, c] of [[Mark.x, 0], [Mark.o, 2], [Mark.x, 1], [Mark.o, 4]] as const) diag.play(m, c);
    expect(diag.play(Mark.x, 5)).toBeNull();
    expect(diag.play(Mark.o, 6)).toBe(Mark.o);

    // X O X / X O O / O X X
    const draw = new TicTacToe();
    const seq = [0, 1, 2, 4, 3, 5, 7, 6, 8];
    let out = null;
    seq.forEach((c, i) => (out = draw.play(i % 2 === 0 ? Mark.x : Mark.o, c)));
    expect(out).toBe("draw");
    expect(draw.outcome).toBe("draw");
  });

  it("forfeit ends a running game for the given mark", () => {
    const g = new TicTacToe();
    g.play(Mark.x, 0);
    g.forfeit(Mark.o);
    expect(g.outcome).toBe(Mark.o);
    expect(g.turn).toBeNull();
  });
});
