import type { services } from "../../src/generated/proto.js";
import type { ContextOf, RuntimeOf } from "../../src/module/index.js";

/** The runtime of a game instance, as its helpers see it (routes and pushes typed). */
export type GameRuntime = RuntimeOf<typeof services.game>;
/** A game handler's context, as its helpers see it. */
export type GameContext = ContextOf<typeof services.game>;
