/** The game module's settings (modules.game.settings in the cluster config), checked once. */
import { z } from "../../src/module/index.js";

/** What is played in a room of a mode. */
export const GameKind = { tictactoe: "tictactoe", none: "none" } as const;
export type GameKind = (typeof GameKind)[keyof typeof GameKind];

/** One mode: how many seats its rooms have and what is played there. */
export interface ModeConfig {
  readonly name: string;
  readonly capacity: number;
  readonly game: GameKind;
  /** Tic-tac-toe: how long the player whose turn it is may take before forfeiting. */
  readonly moveTimeoutMs: number;
}

/** Parsed settings. */
export interface GameSettings {
  readonly modes: ReadonlyMap<string, ModeConfig>;
  /** How long a disconnected member keeps the seat. */
  readonly reconnectWindowMs: number;
  /**
   * TTL of this instance's liveness key: rooms of an instance whose key expired are skipped, and
   * removed by the surviving instances' sweep (every aliveTtlMs / 3), their members told.
   */
  readonly aliveTtlMs: number;
  /** Default time for one tic-tac-toe move (a mode may set its own). */
  readonly moveTimeoutMs: number;
}

/** Defaults: one mode, "tictactoe" for 2, and a 30 s reconnect window. */
export const DEFAULT_GAME_SETTINGS = {
  modes: { tictactoe: 2 },
  reconnectWindowMs: 30_000,
  aliveTtlMs: 6_000,
  moveTimeoutMs: 30_000,
} as const;

const MODE_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_CAPACITY = 64;
const millis = z.number().finite().positive();
const capacity = z.number().int().min(1).max(MAX_CAPACITY);
const mode = z.union([
  capacity,
  z.object({ capacity, game: z.enum([GameKind.tictactoe, GameKind.none]).optional(), moveTimeoutMs: millis.optional() }).strict(),
]);

/**
 * `modules.game.settings`: `modes` (name → capacity, or name → { capacity, game, moveTimeoutMs }),
 * `reconnectWindowMs`, `aliveTtlMs` and `moveTimeoutMs` (the default of every mode). A mode named
 * "tictactoe" plays tic-tac-toe unless it says otherwise; tic-tac-toe needs capacity 2.
 */
export const GameSettingsSchema = z
  .object({
    modes: z
      .record(z.string().regex(MODE_NAME, "a mode name is 1-32 letters, digits, '_' or '-'"), mode)
      .default(DEFAULT_GAME_SETTINGS.modes)
      .refine((m) => Object.keys(m).length > 0, 'declare at least one mode, e.g. {"tictactoe": 2}'),
    reconnectWindowMs: millis.default(DEFAULT_GAME_SETTINGS.reconnectWindowMs),
    aliveTtlMs: millis.default(DEFAULT_GAME_SETTINGS.aliveTtlMs),
    moveTimeoutMs: millis.default(DEFAULT_GAME_SETTINGS.moveTimeoutMs),
  })
  .strict()
  .transform((raw, ctx): GameSettings => {
    const modes = new Map<string, ModeConfig>();
    for (const [name, value] of Object.entries(raw.modes)) {
      const spec = typeof value === "number" ? { capacity: value } : value;
      const game = spec.game ?? (name === GameKind.tictactoe ? GameKind.tictactoe : GameKind.none);
      if (game === GameKind.tictactoe && spec.capacity !== 2) {
        ctx.addIssue({ code: "custom", path: ["modes", name], message: "plays tic-tac-toe, which needs capacity 2" });
      }
      modes.set(name, { name, capacity: spec.capacity, game, moveTimeoutMs: spec.moveTimeoutMs ?? raw.moveTimeoutMs });
    }
    return { modes, reconnectWindowMs: raw.reconnectWindowMs, aliveTtlMs: raw.aliveTtlMs, moveTimeoutMs: raw.moveTimeoutMs };
  });
