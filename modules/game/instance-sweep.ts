import type { game } from "../../src/generated/proto.js";
import type { GameRuntime } from "./context.js";
import { roomChannel } from "./room.js";
import type { RoomDirectory, SweptRoom } from "./room-directory.js";
import { ROOM_EVENT, RoomEventKind } from "./rooms.js";

/** Reason of the "closed" event of a room whose instance died. */
export const INSTANCE_LOST_REASON = "its game server stopped";

/**
 * Cleans up after a game instance that died without closing its rooms (kill -9, host lost):
 * every instance looks for listed instances whose liveness key lapsed, removes their rooms from
 * the directory (one script per dead instance, so exactly one sweeper gets each room) and tells
 * the members the room closed, then takes their sessions out of the room channel.
 */
export class InstanceSweep {
  private running = false;

  constructor(
    private readonly rt: GameRuntime,
    private readonly dir: RoomDirectory,
  ) {}

  /** Rooms this instance's id held in a previous process (a restart after a crash). */
  async sweepOwnLeftovers(): Promise<void> {
    await this.announce(await this.dir.sweepInstance(this.rt.instanceId, true), this.rt.instanceId);
  }

  /** One pass over the dead instances; skipped while the previous one still runs. */
  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const dead of await this.dir.deadInstances()) {
        if (dead === this.rt.instanceId) continue;
        await this.announce(await this.dir.sweepInstance(dead, false), dead);
      }
    } catch (err) {
      this.rt.log.warn({ err: (err as Error).message }, "game instance sweep failed; the next pass retries");
    } finally {
      this.running = false;
    }
  }

  private async announce(rooms: readonly SweptRoom[], instance: string): Promise<void> {
    if (rooms.length === 0) return;
    this.rt.log.info({ instance, rooms: rooms.length }, "rooms of a dead game instance removed");
    for (const room of rooms) {
      const channel = roomChannel(room.roomId);
      const state: game.RoomState = {
        roomId: room.roomId,
        mode: room.mode,
        capacity: room.capacity,
        instanceId: instance,
        members: room.seats.map((s) => ({ uid: s.uid, seat: s.seat, connected: false })),
        phase: "over",
        board: "",
        turnUid: "",
        winnerUid: "",
        draw: false,
      };
      const event: Partial<game.RoomEvent> = { kind: RoomEventKind.closed, uid: "", cell: 0, reason: INSTANCE_LOST_REASON, room: state };
      this.rt.publish(channel, ROOM_EVENT, event);
    }
    // Flushed first so the gateways deliver "closed" before they drop the channel.
    await this.rt.nc.flush();
    const table = this.rt.onlineTable();
    for (const room of rooms) {
      const uids = room.seats.map((s) => s.uid);
      const entries = await table.lookupMany(uids);
      await Promise.all(
        entries.map((e, k) =>
          e === null ? undefined : this.rt.leaveChannel({ gatewayId: e.gatewayId, sid: e.sid, uid: uids[k]! }, roomChannel(room.roomId)).catch(() => undefined),
        ),
      );
    }
  }
}
