import type { Bot } from "../../../src/bots/index.js";
import { SwitchyardError } from "../../../src/client/index.js";
import type { game } from "../../../src/generated/proto.js";
import { waitFor } from "./wait.js";

/** How one game ended for this bot. */
export interface GameResult {
  roomId: string;
  /** "abandoned": the run ended (--duration) before an opponent sat down; the bot left. */
  outcome: "won" | "lost" | "draw" | "abandoned";
  /** Moves this bot made. */
  moves: number;
}

/** Bounds on the waits of one game. */
export interface PlayTimeouts {
  /** Until a second player sits down. */
  opponentMs: number;
  /** Until it is this bot's turn again (or the game ends). */
  turnMs: number;
}

const MODE = "tictactoe";
/** QuickJoin answered with the finished room, or CONFLICT (seat released meanwhile): again after this. */
const REJOIN_RETRY_MS = 50;
const REJOIN_ATTEMPTS = 20;

const filled = (s: game.RoomState): number => [...s.board].filter((c) => c !== ".").length;

/** Orders states of one room: a later state never loses to an earlier one arriving late. */
function progress(s: game.RoomState): number {
  return (s.phase === "over" ? 1000 : 0) + filled(s) * 10 + (s.phase === "playing" ? 1 : 0);
}

/**
 * Quick-joins a tic-tac-toe room and plays it to its end: the bot follows its room's
 * `game.RoomEvent` pushes and the replies it gets, and moves (a random empty cell) only when
 * the room is playing and `turnUid` is its own. Both bots of a room run this, so they move
 * alternately. Every wait is bounded; without an opponent the bot leaves the room and throws,
 * unless the round started while the run was on (`bot.running`) and the run ended meanwhile:
 * then it leaves and answers "abandoned".
 */
export async function playTicTacToe(bot: Bot, uid: string, timeouts: PlayTimeouts, previousRoom: string | null): Promise<GameResult> {
  const latest = new Map<string, game.RoomState>();
  const closed = new Set<string>();
  const absorb = (s: game.RoomState | null | undefined): void => {
    if (!s) return;
    const old = latest.get(s.roomId);
    if (old === undefined || progress(s) >= progress(old)) latest.set(s.roomId, s);
  };
  const off = bot.client.on<game.RoomEvent>("game.RoomEvent", (e) => {
    absorb(e.room);
    if (e.kind === "closed" && e.room) closed.add(e.room.roomId);
  });
  try {
    const looping = bot.running;
    const roomId = await quickJoin(bot, absorb, previousRoom);
    const state = (): game.RoomState => latest.get(roomId)!;
    const ended = (): string | undefined => (closed.has(roomId) && state().phase !== "over" ? `room ${roomId} closed before the game ended` : undefined);
    let seated: "opponent" | "run over";
    try {
      seated = await waitFor(bot, `an opponent in room ${roomId}`, timeouts.opponentMs, () =>
        state().phase !== "waiting" || closed.has(roomId) ? "opponent" : looping && !bot.running ? "run over" : undefined,
      );
    } catch (err) {
      await bot.request("game.Leave", { roomId }).catch(() => undefined);
      throw err;
    }
    if (seated === "run over") {
      await bot.request("game.Leave", { roomId });
      return { roomId, outcome: "abandoned", moves: 0 };
    }
    let moves = 0;
    let movedAt = -1;
    for (;;) {
      const s = await waitFor(bot, `the opponent's move in room ${roomId}`, timeouts.turnMs, () => {
        const why = ended();
        if (why !== undefined) throw new Error(`bot #${bot.index}: ${why}`);
        const cur = state();
        if (cur.phase === "over") return cur;
        return cur.phase === "playing" && cur.turnUid === uid && filled(cur) !== movedAt ? cur : undefined;
      });
      if (s.phase === "over") return { roomId, outcome: s.winnerUid === uid ? "won" : s.draw || s.winnerUid === "" ? "draw" : "lost", moves };
      const empty = [...s.board].flatMap((c, i) => (c === "." ? [i] : []));
      const cell = empty[bot.randomInt(0, empty.length - 1)]!;
      movedAt = filled(s);
      try {
        absorb((await bot.request("game.Move", { cell })).room);
        moves++;
      } catch (err) {
        // The opponent left (forfeit) while this move was on its way: the game is over anyway.
        if (err instanceof SwitchyardError && state().phase === "over") continue;
        throw new Error(`bot #${bot.index}: game.Move cell ${cell} on board "${s.board}" refused: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    off();
  }
}

/** QuickJoin, asked again while it still answers with the room of the previous game. */
async function quickJoin(bot: Bot, absorb: (s: game.RoomState | null | undefined) => void, previousRoom: string | null): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    let why: string;
    try {
      const room = (await bot.request("game.QuickJoin", { mode: MODE })).room;
      if (!room) throw new Error(`bot #${bot.index}: game.QuickJoin answered without a room`);
      if (room.roomId !== previousRoom && room.phase !== "over") {
        absorb(room);
        return room.roomId;
      }
      why = `still answers the finished room ${room.roomId}`;
    } catch (err) {
      // The previous room released the seat while this QuickJoin ran; the server says: again.
      if (!(err instanceof SwitchyardError) || err.code !== "CONFLICT") throw err;
      why = `answers CONFLICT (${err.message})`;
    }
    if (attempt >= REJOIN_ATTEMPTS) throw new Error(`bot #${bot.index}: game.QuickJoin ${why} after ${attempt} attempts`);
    await new Promise((r) => setTimeout(r, REJOIN_RETRY_MS));
  }
}
