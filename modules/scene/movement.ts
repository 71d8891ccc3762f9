import type { GridSpec } from "./grid.js";

/** Why a move was refused (Correction.reason). */
export const MoveRefusal = { tooFast: "too fast", outOfBounds: "out of bounds" } as const;
export type MoveRefusal = (typeof MoveRefusal)[keyof typeof MoveRefusal];

/** Limits a move is checked against. */
export interface MoveLimits {
  readonly bounds: Omit<GridSpec, "cellSize">;
  /** Units per second. */
  readonly maxSpeed: number;
  /** Slack added to the elapsed time (network jitter bunches moves together). */
  readonly speedToleranceMs: number;
}

/**
 * Checks a move from (fromX, fromY), accepted `elapsedMs` ago, to (x, y): null when allowed,
 * else why not. The distance allowed is maxSpeed × (elapsed + tolerance).
 */
export function checkMove(limits: MoveLimits, fromX: number, fromY: number, x: number, y: number, elapsedMs: number): MoveRefusal | null {
  const b = limits.bounds;
  if (x < b.minX || x > b.maxX || y < b.minY || y > b.maxY) return MoveRefusal.outOfBounds;
  const allowed = (limits.maxSpeed * (Math.max(0, elapsedMs) + limits.speedToleranceMs)) / 1000;
  const dx = x - fromX;
  const dy = y - fromY;
  return dx * dx + dy * dy > allowed * allowed ? MoveRefusal.tooFast : null;
}

/** Clamps a position into the bounds. */
export function clampToBounds(bounds: MoveLimits["bounds"], x: number, y: number): { x: number; y: number } {
  return { x: Math.min(bounds.maxX, Math.max(bounds.minX, x)), y: Math.min(bounds.maxY, Math.max(bounds.minY, y)) };
}
