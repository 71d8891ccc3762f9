import { defineModule, type ModuleRuntime } from "../../src/module/index.js";
import { InstanceState } from "../shared/instance-state.js";
import { GameService } from "./game-service.js";
import { RoomDirectory } from "./room-directory.js";
import { LocalRooms } from "./rooms.js";
import { parseGameSettings } from "./settings.js";

/** What one game instance runs; built in onStart. */
interface Instance {
  service: GameService;
  rooms: LocalRooms;
  dir: RoomDirectory;
  heartbeat: NodeJS.Timeout;
}

/** Per runtime, so several instances can share one process (tests). */
const instances = new InstanceState<Instance>();

function running(rt: ModuleRuntime): Instance {
  return instances.ofRuntime(rt);
}

/** Every instance hears every closed session: only the one holding the member's room acts. */
function watchSessions(rt: ModuleRuntime, rooms: LocalRooms): void {
  rt.onSessionClosed("every", (closed) => rooms.onSessionClosed(closed));
}

/**
 * Rooms, matchmaking and tic-tac-toe. Seats live in a Redis directory shared by every
 * instance; each room runs on one instance, and sessions are pinned to it.
 */
export default defineModule({
  name: "game",
  version: "1.0.0",
  async onStart(rt) {
    const settings = parseGameSettings(rt.settings);
    const dir = new RoomDirectory(rt.redis());
    const rooms = new LocalRooms(rt, dir, settings);
    await dir.heartbeat(rt.instanceId, settings.aliveTtlMs);
    const heartbeat = setInterval(() => {
      dir.heartbeat(rt.instanceId, settings.aliveTtlMs).catch((err: Error) => rt.log.warn({ err: err.message }, "liveness heartbeat failed"));
    }, Math.max(Math.floor(settings.aliveTtlMs / 3), 50));
    heartbeat.unref();
    watchSessions(rt, rooms);
    instances.set(rt, { service: new GameService(rt, dir, rooms, settings), rooms, dir, heartbeat });
  },
  async onDrain(rt) {
    // Existing rooms keep running (instance subject); none takes a new player.
    const held = await running(rt).dir.sealInstance(rt.instanceId);
    rt.log.info({ rooms: held }, "draining: rooms closed to new players");
  },
  drained(rt) {
    return running(rt).rooms.whenEmpty();
  },
  async onStop(rt) {
    const i = running(rt);
    clearInterval(i.heartbeat);
    i.rooms.stop();
    await i.dir.forget(rt.instanceId).catch(() => undefined);
  },
  handlers: {
    QuickJoin: (ctx, req) => running(ctx.module).service.quickJoin(ctx, req),
    Join: (ctx, req) => running(ctx.module).service.join(ctx, req),
    Leave: (ctx, req) => running(ctx.module).service.leave(ctx, req),
    Rejoin: (ctx, req) => running(ctx.module).service.rejoin(ctx, req),
    ListRooms: (ctx, req) => running(ctx.module).service.listRooms(ctx, req),
    Move: (ctx, req) => running(ctx.module).service.move(ctx, req),
  },
});
