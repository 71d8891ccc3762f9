import type { game } from "../../src/generated/proto.js";
import type { SessionRef } from "../../src/module/index.js";
import { GameKind, type ModeConfig } from "./settings.js";
import { Mark, TicTacToe } from "./tictactoe.js";

/** Where a room is in its life. */
export const Phase = { waiting: "waiting", playing: "playing", over: "over" } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** One seated member, as the room's instance knows it. */
export interface Seat {
  readonly uid: string;
  readonly seat: number;
  /** The member's live session; null while disconnected (reconnect window running). */
  session: SessionRef | null;
  /** Resolves once the session joined the room channel. */
  inChannel: Promise<void>;
  /** Reconnect window timer while disconnected. */
  timer: NodeJS.Timeout | null;
}

/** Channel of a room's events. */
export function roomChannel(roomId: string): string {
  return `room-${roomId}`;
}

/**
 * The in-memory state of one room on its instance: members and, for tic-tac-toe modes, the
 * game. No I/O: the instance's {@link LocalRooms} persists seats and sends events.
 */
export class Room {
  readonly id: string;
  readonly mode: ModeConfig;
  readonly instanceId: string;
  readonly channel: string;
  readonly members = new Map<string, Seat>();
  phase: Phase = Phase.waiting;
  game: TicTacToe | null = null;
  winnerUid = "";
  /** Runs out when the player whose turn it is took too long (see LocalRooms.armTurn). */
  turnTimer: NodeJS.Timeout | null = null;

  constructor(id: string, mode: ModeConfig, instanceId: string) {
    this.id = id;
    this.mode = mode;
    this.instanceId = instanceId;
    this.channel = roomChannel(id);
  }

  /** Seats a member or binds a new session to an existing seat; tells which it was. */
  attach(uid: string, seat: number, session: SessionRef | null): { seat: Seat; rejoined: boolean } {
    const cur = this.members.get(uid);
    if (cur !== undefined) {
      cur.session = session;
      if (cur.timer !== null) clearTimeout(cur.timer);
      cur.timer = null;
      return { seat: cur, rejoined: true };
    }
    const s: Seat = { uid, seat, session, inChannel: Promise.resolve(), timer: null };
    this.members.set(uid, s);
    return { seat: s, rejoined: false };
  }

  /** Removes a member; returns the seat it held, if any. */
  remove(uid: string): Seat | undefined {
    const s = this.members.get(uid);
    if (s === undefined) return undefined;
    if (s.timer !== null) clearTimeout(s.timer);
    this.members.delete(uid);
    return s;
  }

  /** Starts the game when the room is full (tic-tac-toe modes); true if it started now. */
  startIfFull(): boolean {
    if (this.phase !== Phase.waiting || this.mode.game !== GameKind.tictactoe || this.members.size < this.mode.capacity) return false;
    this.game = new TicTacToe();
    this.phase = Phase.playing;
    return true;
  }

  /** Stops the move timer (a move was played, or the game or the room ended). */
  clearTurnTimer(): void {
    if (this.turnTimer !== null) clearTimeout(this.turnTimer);
    this.turnTimer = null;
  }

  /** Tic-tac-toe mark of a member: the lowest seat plays X. */
  markOf(uid: string): typeof Mark.x | typeof Mark.o | null {
    const me = this.members.get(uid);
    if (me === undefined) return null;
    for (const other of this.members.values()) if (other.seat < me.seat) return Mark.o;
    return Mark.x;
  }

  /** Member playing `mark`, or "" when none. */
  uidOf(mark: typeof Mark.x | typeof Mark.o | null): string {
    if (mark === null) return "";
    for (const m of this.members.values()) if (this.markOf(m.uid) === mark) return m.uid;
    return "";
  }

  /** Wire view of the room. */
  view(): game.RoomState {
    const g = this.game;
    return {
      roomId: this.id,
      mode: this.mode.name,
      capacity: this.mode.capacity,
      instanceId: this.instanceId,
      members: [...this.members.values()]
        .sort((a, b) => a.seat - b.seat)
        .map((m) => ({ uid: m.uid, seat: m.seat, connected: m.session !== null })),
      phase: this.phase,
      board: g?.board ?? (this.mode.game === GameKind.tictactoe ? ".........": ""),
      turnUid: g !== null && this.phase === Phase.playing ? this.uidOf(g.turn) : "",
      winnerUid: this.winnerUid,
      draw: g?.outcome === "draw",
    };
  }
}
