import { services } from "../../src/generated/proto.js";
import { startIdGenerator, type IdGenerator } from "../../src/ids/index.js";
import { defineModule } from "../../src/module/index.js";
import { GameService } from "./game-service.js";
import { InstanceSweep } from "./instance-sweep.js";
import { RoomDirectory } from "./room-directory.js";
import { LocalRooms } from "./rooms.js";
import { GameSettingsSchema } from "./settings.js";

/** What one game instance runs; built in onStart. */
interface Instance {
  service: GameService;
  rooms: LocalRooms;
  dir: RoomDirectory;
  ids: IdGenerator;
}

/**
 * Rooms, matchmaking and tic-tac-toe. Seats live in a Redis directory shared by every
 * instance; each room runs on one instance, and sessions are pinned to it.
 */
export default defineModule(services.game, {
  version: "1.1.0",
  settings: GameSettingsSchema,
  async onStart(rt): Promise<Instance> {
    const settings = rt.settings;
    const dir = new RoomDirectory(rt.redis());
    const rooms = new LocalRooms(rt, dir, settings);
    const sweep = new InstanceSweep(rt, dir);
    await sweep.sweepOwnLeftovers();
    await dir.heartbeat(rt.instanceId, settings.aliveTtlMs);
    const beat = Math.max(Math.floor(settings.aliveTtlMs / 3), 50);
    rt.every(beat, () => dir.heartbeat(rt.instanceId, settings.aliveTtlMs).catch((err: Error) => rt.log.warn({ err: err.message }, "liveness heartbeat failed")));
    // A dead instance's rooms are gone at most aliveTtlMs + one beat after its last heartbeat.
    rt.every(beat, () => sweep.sweep());
    // Every instance hears every closed session: only the one holding the member's room acts.
    rt.onSessionClosed("every", (closed) => rooms.onSessionClosed(closed));
    // ... and every new binding: the instance holding the member's room moves the seat to it.
    rt.onSessionOpened("every", (opened) => rooms.onSessionOpened(opened));
    const ids = await startIdGenerator(rt.redis(), rt.instanceId, { log: rt.log });
    return { service: new GameService(rt, dir, rooms, settings, () => `r${ids.next()}`), rooms, dir, ids };
  },
  async onDrain(rt, i) {
    // Existing rooms keep running (instance subject); none takes a new player.
    const held = await i.dir.sealInstance(rt.instanceId);
    rt.log.info({ rooms: held }, "draining: rooms closed to new players");
  },
  drained(_rt, i) {
    return i.rooms.whenEmpty();
  },
  async onStop(rt, i) {
    i.rooms.stop();
    await i.dir.forget(rt.instanceId).catch(() => undefined);
    await i.ids.close();
  },
  handlers: {
    QuickJoin: (ctx, req) => ctx.state.service.quickJoin(ctx, req),
    Join: (ctx, req) => ctx.state.service.join(ctx, req),
    Leave: (ctx, req) => ctx.state.service.leave(ctx, req),
    Rejoin: (ctx, req) => ctx.state.service.rejoin(ctx, req),
    ListRooms: (ctx, req) => ctx.state.service.listRooms(ctx, req),
    Move: (ctx, req) => ctx.state.service.move(ctx, req),
  },
});
