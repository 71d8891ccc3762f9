import { randomBytes } from "node:crypto";
import { SwitchyardError, isErrorCode } from "../../src/protocol/errors.js";
import type { game } from "../../src/generated/proto.js";
import type { MessageInit, SessionRef } from "../../src/module/index.js";
import type { GameContext, GameRuntime } from "./context.js";
import type { RoomDirectory } from "./room-directory.js";
import type { LocalRooms } from "./rooms.js";
import type { GameSettings, ModeConfig } from "./settings.js";

type RoomReply = MessageInit<game.RoomReply>;

/** A new room id: "r" + 12 hex digits (a subject token, so "room-<id>" is a valid channel). */
export function newRoomId(): string {
  return `r${randomBytes(6).toString("hex")}`;
}

/**
 * The game routes on one instance. The directory decides who sits where; the instance that
 * holds a room runs it. A request that lands on another instance is forwarded to the room's
 * instance subject, and the reply pins the session there (`ctx.pin(instance)`).
 */
export class GameService {
  private readonly rt: GameRuntime;
  private readonly dir: RoomDirectory;
  private readonly rooms: LocalRooms;
  private readonly settings: GameSettings;

  constructor(rt: GameRuntime, dir: RoomDirectory, rooms: LocalRooms, settings: GameSettings, private readonly nextRoomId: () => string = newRoomId) {
    this.rt = rt;
    this.dir = dir;
    this.rooms = rooms;
    this.settings = settings;
  }

  private get me(): string {
    return this.rt.instanceId;
  }

  /** game.QuickJoin */
  async quickJoin(ctx: GameContext, req: game.QuickJoinRequest): Promise<RoomReply> {
    const uid = ctx.requireUid();
    const mode = this.mode(req.mode);
    // A draining instance opens no room; it may still seat the player in someone else's.
    const r = await this.dir.quickJoin(uid, mode.name, mode.capacity, this.nextRoomId(), this.me, !this.rt.draining);
    if (r.kind === "none") {
      const res = await ctx.call("game.QuickJoin", { mode: mode.name });
      ctx.pin(res.room?.instanceId);
      return { room: res.room, via: this.me };
    }
    return this.enter(ctx, uid, r.roomId, r.instance);
  }

  /** game.Join */
  async join(ctx: GameContext, req: game.JoinRequest): Promise<RoomReply> {
    const uid = ctx.requireUid();
    if (req.roomId === "") throw new SwitchyardError("BAD_REQUEST", "room_id is empty: pass a room id from ListRooms, or call QuickJoin");
    const r = await this.dir.join(uid, req.roomId);
    switch (r.kind) {
      case "existing":
      case "joined":
        return this.enter(ctx, uid, r.roomId, r.instance);
      case "elsewhere":
        throw new SwitchyardError("CONFLICT", `you already sit in room ${r.roomId}: Leave it first (or Rejoin it)`);
      case "missing":
        throw new SwitchyardError("NOT_FOUND", `room ${req.roomId} does not exist (it may have closed): ListRooms or QuickJoin`);
      case "full":
        throw new SwitchyardError("CONFLICT", `room ${req.roomId} is full: QuickJoin or pick another room`);
      case "closed":
        throw new SwitchyardError("CONFLICT", `room ${req.roomId} takes no new players (its server is shutting down): QuickJoin or pick another room`);
    }
  }

  /** game.Rejoin */
  async rejoin(ctx: GameContext, req: game.RejoinRequest): Promise<RoomReply> {
    const uid = ctx.requireUid();
    const seat = await this.dir.locate(uid);
    if (seat === null || (req.roomId !== "" && seat.roomId !== req.roomId)) {
      const which = req.roomId === "" ? "any room" : `room ${req.roomId}`;
      throw new SwitchyardError("NOT_FOUND", `you have no seat in ${which} (a seat is kept ${this.settings.reconnectWindowMs} ms after a disconnect): QuickJoin`);
    }
    return this.enter(ctx, uid, seat.roomId, seat.instance);
  }

  /** game.Leave */
  async leave(ctx: GameContext, req: game.LeaveRequest): Promise<MessageInit<game.LeaveReply>> {
    const uid = ctx.requireUid();
    const local = this.rooms.roomOf(uid);
    if (local !== undefined && (req.roomId === "" || req.roomId === local.id)) {
      const roomId = await this.rooms.leave(uid, "left");
      ctx.unpin();
      return { roomId };
    }
    const seat = await this.dir.locate(uid);
    if (seat === null || (req.roomId !== "" && seat.roomId !== req.roomId)) {
      throw new SwitchyardError("NOT_FOUND", `you are not in ${req.roomId === "" ? "a room" : `room ${req.roomId}`}: nothing to leave`);
    }
    if (seat.instance === this.me) {
      // Seated in the directory but never attached here (the join did not complete).
      await this.dir.leave(uid, seat.roomId, true);
    } else {
      await this.forward(ctx, uid, seat.roomId, () => ctx.call("game.Leave", { roomId: seat.roomId }, { instance: seat.instance }));
    }
    ctx.unpin();
    return { roomId: seat.roomId };
  }

  /** game.Move */
  async move(ctx: GameContext, req: game.MoveRequest): Promise<RoomReply> {
    const uid = ctx.requireUid();
    const local = this.rooms.roomOf(uid);
    if (local !== undefined) {
      const member = local.members.get(uid);
      if (!sameSession(member?.session ?? null, ctx.session)) {
        throw new SwitchyardError("CONFLICT", `this connection is not attached to room ${local.id}: call game.Rejoin first`);
      }
      return { room: await this.rooms.move(uid, req.cell), via: this.me };
    }
    const seat = await this.dir.locate(uid);
    if (seat === null) {
      const ended = this.rooms.endedRoomOf(uid);
      if (ended !== undefined) throw new SwitchyardError("CONFLICT", `the game in room ${ended} is over: QuickJoin for a new one`);
      throw new SwitchyardError("NOT_FOUND", "you are not in a room: QuickJoin a tictactoe room first");
    }
    if (seat.instance === this.me) throw new SwitchyardError("CONFLICT", `this connection is not attached to room ${seat.roomId}: call game.Rejoin first`);
    const res = await this.forward(ctx, uid, seat.roomId, () => ctx.call("game.Move", { cell: req.cell }, { instance: seat.instance }));
    ctx.pin(seat.instance);
    return { room: res.room, via: this.me };
  }

  /** game.ListRooms */
  async listRooms(_ctx: GameContext, req: game.ListRoomsRequest): Promise<MessageInit<game.ListRoomsReply>> {
    const mode = this.mode(req.mode);
    const rows = await this.dir.list(mode.name);
    return {
      rooms: rows.map((r) => ({ roomId: r.roomId, mode: r.mode, capacity: r.capacity, members: r.members, instanceId: r.instance, status: r.status })),
    };
  }

  /** Attaches the session to its seat here, or forwards to the room's instance; pins either way. */
  private async enter(ctx: GameContext, uid: string, roomId: string, instance: string): Promise<RoomReply> {
    if (instance !== this.me) {
      const res = await this.forward(ctx, uid, roomId, () => ctx.call("game.Rejoin", { roomId }, { instance }));
      ctx.pin(instance);
      return { room: res.room, via: this.me };
    }
    const seat = await this.dir.locate(uid);
    if (seat === null || seat.roomId !== roomId) {
      throw new SwitchyardError("CONFLICT", `your seat in room ${roomId} was released meanwhile: QuickJoin again`);
    }
    if (ctx.session === null) throw new SwitchyardError("BAD_REQUEST", "joining a room needs a client session, but the request came from a module without one");
    const room = await this.rooms.attach(ctx.session, uid, seat);
    ctx.pin();
    return { room, via: this.me };
  }

  /**
   * Runs a call to the instance holding `roomId`. When that instance is gone (no responders),
   * the seat is dropped so the player can QuickJoin again.
   */
  private async forward<T>(ctx: GameContext, uid: string, roomId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!isErrorCode(err, "UNAVAILABLE")) throw err;
      await this.dir.leave(uid, roomId, false).catch(() => undefined);
      ctx.unpin();
      throw new SwitchyardError("UNAVAILABLE", `the server holding room ${roomId} is gone and your seat was released: QuickJoin again`, { cause: err });
    }
  }

  private mode(name: string): ModeConfig {
    const mode = this.settings.modes.get(name);
    if (mode === undefined) {
      throw new SwitchyardError("BAD_REQUEST", `unknown mode "${name}": use one of ${[...this.settings.modes.keys()].join(", ")}`);
    }
    return mode;
  }
}

function sameSession(a: SessionRef | null, b: SessionRef | null): boolean {
  return a !== null && b !== null && a.gatewayId === b.gatewayId && a.sid === b.sid;
}
