import { services } from "../../src/generated/proto.js";
import { defineModule } from "../../src/module/index.js";
import { SceneDirectory } from "./scene-directory.js";
import { SceneService } from "./scene-service.js";
import { SceneSettingsSchema } from "./settings.js";

/**
 * Shared worlds with a nine-grid AOI. Each scene is owned by the instance holding its Redis
 * lease; players are pinned to it; positions go out once per tick to the players who see them.
 */
export default defineModule(services.scene, {
  version: "1.0.0",
  settings: SceneSettingsSchema,
  onStart(rt): SceneService {
    const s = rt.settings;
    const service = new SceneService(rt, new SceneDirectory(rt.redis(), rt.instanceId, s.leaseMs), s);
    rt.every(s.tickMs, () => service.tick());
    rt.every(Math.max(100, Math.floor(s.leaseMs / 3)), () => service.renewLeases());
    rt.every(s.leaseMs, () => service.sweepOrphans());
    // Every instance hears every closed session: only the owner of the player's scene acts.
    rt.onSessionClosed("every", (closed) => service.onSessionClosed(closed));
    rt.onSessionOpened("every", (opened) => service.onSessionOpened(opened));
    return service;
  },
  drained(_rt, service) {
    return service.whenEmpty();
  },
  onStop(_rt, service) {
    return service.stop();
  },
  handlers: {
    Enter: (ctx, req) => ctx.state.enter(ctx, req),
    Leave: (ctx) => ctx.state.leave(ctx),
    Move: (ctx, req) => ctx.state.move(ctx, req),
    Chat: (ctx, req) => ctx.state.chat(ctx, req),
  },
});
