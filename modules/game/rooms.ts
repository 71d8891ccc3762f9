import { SwitchyardError } from "../../src/protocol/errors.js";
import type { game } from "../../src/generated/proto.js";
import type { SessionClosedEvent, SessionOpenedEvent, SessionRef } from "../../src/module/index.js";
import type { GameRuntime } from "./context.js";
import { Phase, Room, type Seat } from "./room.js";
import type { RoomDirectory, SeatInfo } from "./room-directory.js";
import type { GameSettings } from "./settings.js";
import { MoveRefusal } from "./tictactoe.js";

/** Push route (and message type) of room events. */
export const ROOM_EVENT = "game.RoomEvent";
/** Players whose finished game is remembered (for CONFLICT "the game is over" on a late Move). */
const MAX_ENDED_REMEMBERED = 10_000;

/** Rank board credited with 1 point per tic-tac-toe win. */
export const RANK_BOARD = "tictactoe";

/** Kinds of room events, as pushed in game.RoomEvent.kind. */
export const RoomEventKind = {
  joined: "joined",
  left: "left",
  disconnected: "disconnected",
  rejoined: "rejoined",
  started: "started",
  moved: "moved",
  over: "over",
  closed: "closed",
} as const;
export type RoomEventKind = (typeof RoomEventKind)[keyof typeof RoomEventKind];

/**
 * The rooms this instance holds: seats (persisted in the directory first), channels, events,
 * the reconnect window, game over and credit to rank, and drain bookkeeping.
 */
export class LocalRooms {
  private readonly rt: GameRuntime;
  private readonly dir: RoomDirectory;
  private readonly settings: GameSettings;
  private readonly rooms = new Map<string, Room>();
  private readonly byUid = new Map<string, Room>();
  /** uid → the room whose game it played to the end (until it sits down again; bounded). */
  private readonly ended = new Map<string, string>();
  private idleWaiters: (() => void)[] = [];

  constructor(rt: GameRuntime, dir: RoomDirectory, settings: GameSettings) {
    this.rt = rt;
    this.dir = dir;
    this.settings = settings;
  }

  /** Rooms held now. */
  get size(): number {
    return this.rooms.size;
  }

  /** The room of the last game `uid` played to its end here, while it sits in no other room. */
  endedRoomOf(uid: string): string | undefined {
    return this.ended.get(uid);
  }

  /** The local room `uid` sits in, if any. */
  roomOf(uid: string): Room | undefined {
    return this.byUid.get(uid);
  }

  /**
   * Binds the calling session to the seat the directory granted (new member or reconnect):
   * joins the room channel and tells the members. The seat must be on this instance.
   */
  async attach(session: SessionRef, uid: string, seat: SeatInfo): Promise<game.RoomState> {
    const mode = this.settings.modes.get(seat.mode);
    if (mode === undefined) {
      throw new SwitchyardError("INTERNAL", `room ${seat.roomId} has mode "${seat.mode}", which this instance does not know: align modules.game.settings.modes on every instance`);
    }
    let room = this.rooms.get(seat.roomId);
    if (room === undefined) {
      room = new Room(seat.roomId, mode, this.rt.instanceId);
      this.rooms.set(room.id, room);
    }
    const { seat: member, rejoined } = room.attach(uid, seat.seat, session);
    this.byUid.set(uid, room);
    this.ended.delete(uid);
    member.inChannel = this.rt.joinChannel(session, room.channel);
    try {
      await member.inChannel;
    } catch (err) {
      // The session ended meanwhile (its gateway no longer knows it): keep the seat for the
      // reconnect window, as if it had disconnected after joining.
      if (member.session === session) this.disconnect(room, member, "the session ended while joining");
      throw err;
    }
    this.emit(room, rejoined ? RoomEventKind.rejoined : RoomEventKind.joined, uid);
    if (room.startIfFull()) {
      // Everyone must be in the channel before "started", or a member could miss it.
      await Promise.all([...room.members.values()].map((m) => m.inChannel.catch(() => undefined)));
      this.emit(room, RoomEventKind.started, uid);
      this.armTurn(room);
    }
    return room.view();
  }

  /** Plays a tic-tac-toe move for `uid`. */
  async move(uid: string, cell: number): Promise<game.RoomState> {
    const room = this.byUid.get(uid);
    if (room === undefined) throw new SwitchyardError("NOT_FOUND", "you are not in a room: QuickJoin a tictactoe room first");
    const g = room.game;
    if (g === null) {
      if (room.mode.game === "none") throw new SwitchyardError("BAD_REQUEST", `rooms of mode "${room.mode.name}" have no moves: QuickJoin mode "tictactoe" to play`);
      throw new SwitchyardError("CONFLICT", `the game in room ${room.id} has not started: wait for a second player (RoomEvent "started")`);
    }
    const mark = room.markOf(uid)!;
    switch (g.check(mark, cell)) {
      case MoveRefusal.notPlaying:
        throw new SwitchyardError("CONFLICT", `the game in room ${room.id} is over: QuickJoin for a new one`);
      case MoveRefusal.notYourTurn:
        throw new SwitchyardError("CONFLICT", `not your turn: wait for ${room.uidOf(g.turn)} to move (RoomEvent "moved")`);
      case MoveRefusal.badCell:
        throw new SwitchyardError("BAD_REQUEST", `cell ${cell} is off the board: use 0-8 (row * 3 + column)`);
      case MoveRefusal.occupied:
        throw new SwitchyardError("BAD_REQUEST", `cell ${cell} is taken: pick an empty cell ("." in room.board)`);
      default:
        break;
    }
    const outcome = g.play(mark, cell);
    this.emit(room, RoomEventKind.moved, uid, { cell });
    if (outcome === null) {
      this.armTurn(room);
      return room.view();
    }
    return this.finish(room, outcome === "draw" ? "" : room.uidOf(outcome), outcome === "draw" ? "draw" : "win");
  }

  /** Gives up the seat of `uid` in its local room (Leave, or the reconnect window ran out). */
  async leave(uid: string, reason: string): Promise<string> {
    const room = this.byUid.get(uid);
    if (room === undefined) throw new SwitchyardError("NOT_FOUND", "you are not in a room on this server: nothing to leave");
    const wasPlaying = room.phase === Phase.playing;
    const member = room.remove(uid);
    this.byUid.delete(uid);
    const result = await this.dir.leave(uid, room.id, room.phase === Phase.waiting);
    this.emit(room, RoomEventKind.left, uid, { reason });
    if (member?.session) {
      await this.rt.nc.flush();
      await this.rt.leaveChannel(member.session, room.channel).catch(() => undefined);
    }
    if (wasPlaying && room.members.size > 0) {
      const winner = [...room.members.keys()][0]!;
      await this.finish(room, winner, "forfeit");
    } else if (result.kind === "closed" || room.members.size === 0) {
      await this.close(room, "empty");
    }
    return room.id;
  }

  /**
   * A session of a member was bound somewhere (a resume after a reconnect, or a login from
   * another connection): the seat follows it at once, as game.Rejoin would (the room channel
   * joined, the members told "rejoined"), so a reconnected client plays on with no call of its own.
   */
  onSessionOpened(opened: SessionOpenedEvent): void {
    const room = this.byUid.get(opened.uid);
    const member = room?.members.get(opened.uid);
    if (room === undefined || member === undefined) return;
    const session: SessionRef = { gatewayId: opened.gatewayId, sid: opened.sid, uid: opened.uid };
    if (member.session !== null && member.session.gatewayId === session.gatewayId && member.session.sid === session.sid) return;
    const seat: SeatInfo = { roomId: room.id, instance: this.rt.instanceId, mode: room.mode.name, capacity: room.mode.capacity, seat: member.seat };
    this.attach(session, opened.uid, seat).catch((err: Error) => this.rt.log.info({ err: err.message, uid: opened.uid, room: room.id }, "seat not moved to the new session: game.Rejoin does it"));
  }

  /** A session ended somewhere: if it held a seat here, keep the seat for the reconnect window. */
  onSessionClosed(closed: SessionClosedEvent): void {
    if (!closed.uid) return;
    const room = this.byUid.get(closed.uid);
    const member = room?.members.get(closed.uid);
    if (room === undefined || member === undefined || member.session === null) return;
    if (member.session.gatewayId !== closed.gatewayId || member.session.sid !== closed.sid) return; // an older session
    this.disconnect(room, member, closed.reason);
  }

  /** Marks a member disconnected and starts its reconnect window. */
  private disconnect(room: Room, member: Seat, reason: string): void {
    member.session = null;
    this.emit(room, RoomEventKind.disconnected, member.uid, { reason });
    if (member.timer !== null) clearTimeout(member.timer);
    member.timer = setTimeout(() => this.expire(room, member), this.settings.reconnectWindowMs);
    member.timer.unref();
  }

  /** Resolves once this instance holds no room. */
  whenEmpty(): Promise<void> {
    if (this.rooms.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Clears every timer (the instance stops). */
  stop(): void {
    for (const room of this.rooms.values()) {
      room.clearTurnTimer();
      for (const m of room.members.values()) if (m.timer !== null) clearTimeout(m.timer);
    }
  }

  /**
   * (Re)starts the move timer of a running game: when it runs out, the player whose turn it is
   * forfeits (reason "timeout"), so a player who stops moving cannot hold the other hostage.
   */
  private armTurn(room: Room): void {
    room.clearTurnTimer();
    const staller = room.uidOf(room.game?.turn ?? null);
    if (room.phase !== Phase.playing || staller === "") return;
    room.turnTimer = setTimeout(() => this.timeOut(room, staller), room.mode.moveTimeoutMs);
    room.turnTimer.unref();
  }

  private timeOut(room: Room, staller: string): void {
    room.turnTimer = null;
    if (room.phase !== Phase.playing || !this.rooms.has(room.id) || room.uidOf(room.game?.turn ?? null) !== staller) return;
    const winner = [...room.members.keys()].find((u) => u !== staller) ?? "";
    this.finish(room, winner, "timeout").catch((err: unknown) => this.rt.log.warn({ err, room: room.id, staller }, "cannot end a timed-out game"));
  }

  private expire(room: Room, member: Seat): void {
    member.timer = null;
    if (member.session !== null || this.byUid.get(member.uid) !== room) return;
    this.leave(member.uid, "reconnect window expired").catch((err: unknown) => this.rt.log.warn({ err, room: room.id, uid: member.uid }, "cannot release an expired seat"));
  }

  /** Game over: tell the members, credit the winner in rank, close the room; returns the final state. */
  private async finish(room: Room, winnerUid: string, reason: string): Promise<game.RoomState> {
    room.phase = Phase.over;
    room.clearTurnTimer();
    room.winnerUid = winnerUid;
    if (winnerUid !== "" && reason !== "win") room.game?.forfeit(room.markOf(winnerUid)!);
    const final = room.view();
    this.emit(room, RoomEventKind.over, winnerUid, { reason });
    if (winnerUid !== "") {
      // The trusted path, without the winner's session (a call with none comes from a module;
      // rank refuses client-style Submits on the game's board).
      const credit = this.rt.call("rank.SubmitFor", { board: RANK_BOARD, uid: winnerUid, score: 1 });
      await credit.catch((err: unknown) =>
        this.rt.log.warn({ err: (err as Error).message, room: room.id, winner: winnerUid }, "rank submit failed: the win is not recorded"),
      );
    }
    await this.close(room, "game over");
    return final;
  }

  /** Removes a room everywhere: directory, channel memberships, this instance. */
  private async close(room: Room, reason: string): Promise<void> {
    if (!this.rooms.has(room.id)) return;
    this.rooms.delete(room.id);
    room.clearTurnTimer();
    await this.dir.destroy(room.id);
    this.emit(room, RoomEventKind.closed, "", { reason });
    // Flushed first so the gateways deliver "closed" before they drop the channel.
    await this.rt.nc.flush();
    const members = [...room.members.values()];
    for (const m of members) {
      if (reason === "game over") {
        this.ended.delete(m.uid);
        this.ended.set(m.uid, room.id);
        if (this.ended.size > MAX_ENDED_REMEMBERED) this.ended.delete(this.ended.keys().next().value!);
      }
      room.remove(m.uid);
      if (this.byUid.get(m.uid) === room) this.byUid.delete(m.uid);
    }
    await Promise.all(members.map((m) => (m.session ? this.rt.leaveChannel(m.session, room.channel).catch(() => undefined) : undefined)));
    if (this.rooms.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private emit(room: Room, kind: RoomEventKind, uid: string, extra: { cell?: number; reason?: string } = {}): void {
    const event: Partial<game.RoomEvent> = { kind, uid, cell: extra.cell ?? 0, reason: extra.reason ?? "", room: room.view() };
    this.rt.publish(room.channel, ROOM_EVENT, event);
  }
}
