import type { services } from "../../src/generated/proto.js";
import type { ContextOf, RuntimeOf } from "../../src/module/index.js";
import type { SceneSettings } from "./settings.js";

/** The runtime of a scene instance, as its helpers see it (routes and pushes typed). */
export type SceneRuntime = RuntimeOf<typeof services.scene, SceneSettings>;
/** A scene handler's context, as its helpers see it. */
export type SceneContext = ContextOf<typeof services.scene, unknown, SceneSettings>;
