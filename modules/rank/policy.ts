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

/** Resolved board policies: the configured ones and a default for every other board. */
export interface BoardPolicies {
  readonly byBoard: ReadonlyMap<string, Policy>;
  readonly fallback: Policy;
}

/** The policy of a board. */
export function policyOf(p: BoardPolicies, board: string): Policy {
  return p.byBoard.get(board) ?? p.fallback;
}

function parseName(value: unknown, where: string): Policy {
  if (typeof value === "string" && Object.hasOwn(PolicyName, value)) return PolicyName[value as keyof typeof PolicyName];
  throw new Error(`rank settings: ${where} is ${JSON.stringify(value)}; use one of ${Object.keys(PolicyName).map((k) => `"${k}"`).join(", ")}`);
}

/**
 * Reads `modules.rank.settings`: `boards` (board name → "best" | "accumulate") and
 * `defaultPolicy` ("best" when absent). Throws, naming the key, on anything else.
 */
export function parsePolicies(settings: Readonly<Record<string, unknown>>): BoardPolicies {
  const fallback = settings.defaultPolicy === undefined ? rank.Policy.POLICY_BEST : parseName(settings.defaultPolicy, "defaultPolicy");
  const byBoard = new Map<string, Policy>();
  const boards = settings.boards ?? {};
  if (typeof boards !== "object" || boards === null || Array.isArray(boards)) {
    throw new Error(`rank settings: boards must be an object like {"tictactoe": "accumulate"}`);
  }
  for (const [board, value] of Object.entries(boards)) {
    if (!BOARD_NAME.test(board)) throw new Error(`rank settings: board name ${JSON.stringify(board)} must be 1-64 letters, digits, '_', '-' or '.'`);
    byBoard.set(board, parseName(value, `boards.${board}`));
  }
  return { byBoard, fallback };
}
