import { rank } from "../../src/generated/proto.js";

/** A board's policy (numbers from proto/rank.proto). */
export type Policy = rank.Policy;

/** Policies by their settings name, e.g. `"boards": { "tictactoe": "accumulate" }`. */
export const PolicyName = {
  best: rank.Policy.POLICY_BEST,
  accumulate: rank.Policy.POLICY_ACCUMULATE,
} as const;

/** A board name: 1-64 letters, digits, '_', '-' or '.' (it becomes part of Redis keys). */
export const BOARD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The scores a client may submit for itself on a board (both ends included). */
export interface ScoreBounds {
  readonly min: number;
  readonly max: number;
}

/** One configured board. */
export interface BoardConfig {
  readonly policy: Policy;
  /** Null: only modules submit (rank.SubmitFor); clients' rank.Submit is refused. */
  readonly clientSubmit: ScoreBounds | null;
}

/** The configured boards; no other board exists. */
export interface BoardPolicies {
  readonly byBoard: ReadonlyMap<string, BoardConfig>;
}

/** The configuration of a board, or undefined when the board is not configured. */
export function boardOf(p: BoardPolicies, board: string): BoardConfig | undefined {
  return p.byBoard.get(board);
}

function parseName(value: unknown, where: string): Policy {
  if (typeof value === "string" && Object.hasOwn(PolicyName, value)) return PolicyName[value as keyof typeof PolicyName];
  throw new Error(`rank settings: ${where} is ${JSON.stringify(value)}; use one of ${Object.keys(PolicyName).map((k) => `"${k}"`).join(", ")}`);
}

function parseBounds(value: unknown, where: string): ScoreBounds | null {
  if (value === undefined || value === false) return null;
  const b = value as { min?: unknown; max?: unknown } | null;
  const ok = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n);
  if (typeof b !== "object" || b === null || Array.isArray(b) || !ok(b.min) || !ok(b.max) || b.min > b.max) {
    throw new Error(`rank settings: ${where} must be {"min": <number>, "max": <number>} with min <= max, got ${JSON.stringify(value)}`);
  }
  return { min: b.min, max: b.max };
}

function parseBoard(value: unknown, board: string): BoardConfig {
  if (typeof value === "string") return { policy: parseName(value, `boards.${board}`), clientSubmit: null };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`rank settings: boards.${board} must be "best", "accumulate" or {"policy": "best", "clientSubmit": {"min": 0, "max": 1000000}}`);
  }
  const v = value as { policy?: unknown; clientSubmit?: unknown };
  for (const key of Object.keys(v)) {
    if (key !== "policy" && key !== "clientSubmit") throw new Error(`rank settings: boards.${board}.${key} is not a setting; use "policy" and "clientSubmit"`);
  }
  return {
    policy: v.policy === undefined ? rank.Policy.POLICY_BEST : parseName(v.policy, `boards.${board}.policy`),
    clientSubmit: parseBounds(v.clientSubmit, `boards.${board}.clientSubmit`),
  };
}

/**
 * Reads `modules.rank.settings.boards`: board name → "best" | "accumulate" (modules submit
 * only) or `{policy, clientSubmit: {min, max}}` (clients may also submit scores within the
 * bounds). Only these boards exist. Throws, naming the key, on anything else.
 */
export function parsePolicies(settings: Readonly<Record<string, unknown>>): BoardPolicies {
  if (settings.defaultPolicy !== undefined) {
    throw new Error(`rank settings: defaultPolicy is no longer read: only the boards listed in "boards" exist, each with its own policy`);
  }
  const byBoard = new Map<string, BoardConfig>();
  const boards = settings.boards ?? {};
  if (typeof boards !== "object" || boards === null || Array.isArray(boards)) {
    throw new Error(`rank settings: boards must be an object like {"tictactoe": "accumulate"}`);
  }
  for (const [board, value] of Object.entries(boards)) {
    if (!BOARD_NAME.test(board)) throw new Error(`rank settings: board name ${JSON.stringify(board)} must be 1-64 letters, digits, '_', '-' or '.'`);
    byBoard.set(board, parseBoard(value, board));
  }
  return { byBoard };
}
