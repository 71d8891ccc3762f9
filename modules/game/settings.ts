/** The game module's settings (modules.game.settings in the cluster config), checked once. */

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
  /** TTL of this instance's liveness key; rooms of an instance whose key expired are skipped. */
  readonly aliveTtlMs: number;
  /** Default time for one tic-tac-toe move (a mode may set its own). */
  readonly moveTimeoutMs: number;
}

/** Defaults: one mode, "tictactoe" for 2, and a 30 s reconnect window. */
export const DEFAULT_GAME_SETTINGS = {
  modes: { tictactoe: 2 },
  reconnectWindowMs: 30_000,
  aliveTtlMs: 15_000,
  moveTimeoutMs: 30_000,
} as const;

const MODE_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_CAPACITY = 64;

/**
 * Reads `settings.modes` (name → capacity, or name → { capacity, game, moveTimeoutMs }),
 * `reconnectWindowMs`, `aliveTtlMs` and `moveTimeoutMs` (the default of every mode). A mode named
 * "tictactoe" plays tic-tac-toe unless it says otherwise.
 * Throws an Error naming the bad key.
 */
export function parseGameSettings(raw: Readonly<Record<string, unknown>>): GameSettings {
  const modesRaw = raw.modes ?? DEFAULT_GAME_SETTINGS.modes;
  if (typeof modesRaw !== "object" || modesRaw === null || Array.isArray(modesRaw)) {
    throw new Error(`game settings: "modes" must be an object of mode name → capacity, e.g. {"tictactoe": 2}`);
  }
  const moveTimeoutMs = positive(raw.moveTimeoutMs, "moveTimeoutMs", DEFAULT_GAME_SETTINGS.moveTimeoutMs);
  const modes = new Map<string, ModeConfig>();
  for (const [name, value] of Object.entries(modesRaw as Record<string, unknown>)) {
    if (!MODE_NAME.test(name)) throw new Error(`game settings: mode name "${name}" must be 1-32 letters, digits, '_' or '-'`);
    const spec = typeof value === "number" ? { capacity: value } : (value as { capacity?: unknown; game?: unknown; moveTimeoutMs?: unknown } | null);
    const capacity = spec?.capacity;
    if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new Error(`game settings: modes.${name} needs a capacity, an integer 1-${MAX_CAPACITY}`);
    }
    const game = spec?.game ?? (name === GameKind.tictactoe ? GameKind.tictactoe : GameKind.none);
    if (game !== GameKind.tictactoe && game !== GameKind.none) {
      throw new Error(`game settings: modes.${name}.game must be "tictactoe" or "none"`);
    }
    if (game === GameKind.tictactoe && capacity !== 2) throw new Error(`game settings: modes.${name} plays tic-tac-toe, which needs capacity 2`);
    modes.set(name, { name, capacity, game, moveTimeoutMs: positive(spec?.moveTimeoutMs, `modes.${name}.moveTimeoutMs`, moveTimeoutMs) });
  }
  if (modes.size === 0) throw new Error(`game settings: "modes" is empty; declare at least one, e.g. {"tictactoe": 2}`);
  return {
    modes,
    reconnectWindowMs: positive(raw.reconnectWindowMs, "reconnectWindowMs", DEFAULT_GAME_SETTINGS.reconnectWindowMs),
    aliveTtlMs: positive(raw.aliveTtlMs, "aliveTtlMs", DEFAULT_GAME_SETTINGS.aliveTtlMs),
    moveTimeoutMs,
  };
}

function positive(v: unknown, key: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new Error(`game settings: "${key}" must be a number of milliseconds > 0`);
  return v;
}
