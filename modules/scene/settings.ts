/** The scene module's settings (modules.scene.settings in the cluster config), checked once. */
import { z } from "../../src/module/index.js";

/** Defaults of every setting. */
export const DEFAULT_SCENE_SETTINGS = {
  bounds: { minX: 0, minY: 0, maxX: 1000, maxY: 1000 },
  cellSize: 50,
  aoi: true,
  maxSpeed: 20,
  speedToleranceMs: 100,
  tickMs: 50,
  reconnectWindowMs: 10_000,
  leaseMs: 3_000,
} as const;

const finite = z.number().finite();
const millis = z.number().int().min(1).max(3_600_000);

const bounds = z
  .object({ minX: finite, minY: finite, maxX: finite, maxY: finite })
  .strict()
  .refine((b) => b.maxX > b.minX && b.maxY > b.minY, "bounds are empty: maxX must exceed minX and maxY must exceed minY");

/**
 * `modules.scene.settings`: map `bounds` and AOI `cellSize` (every scene has the same map),
 * `aoi` (false: every player sees the whole scene), `maxSpeed` (units per second) with
 * `speedToleranceMs` of slack per move, `tickMs` (position batching), `reconnectWindowMs`
 * (a disconnected player stays in the scene this long) and `leaseMs` (scene ownership lease;
 * a dead instance's scenes are taken over after it).
 */
export const SceneSettingsSchema = z
  .object({
    bounds: bounds.default(DEFAULT_SCENE_SETTINGS.bounds),
    cellSize: z.number().finite().positive().default(DEFAULT_SCENE_SETTINGS.cellSize),
    aoi: z.boolean().default(DEFAULT_SCENE_SETTINGS.aoi),
    maxSpeed: z.number().finite().positive().default(DEFAULT_SCENE_SETTINGS.maxSpeed),
    speedToleranceMs: z.number().int().min(0).max(10_000).default(DEFAULT_SCENE_SETTINGS.speedToleranceMs),
    tickMs: z.number().int().min(5).max(1_000).default(DEFAULT_SCENE_SETTINGS.tickMs),
    reconnectWindowMs: millis.default(DEFAULT_SCENE_SETTINGS.reconnectWindowMs),
    leaseMs: z.number().int().min(300).max(60_000).default(DEFAULT_SCENE_SETTINGS.leaseMs),
  })
  .strict();

/** Parsed settings. */
export type SceneSettings = z.output<typeof SceneSettingsSchema>;
