import { rank } from "../../src/generated/proto.js";
import { z } from "../../src/module/index.js";

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

const policyName = z.enum(["best", "accumulate"]);
const bounds = z
  .object({ min: z.number().finite(), max: z.number().finite() })
  .strict()
  .refine((b) => b.min <= b.max, "min must be <= max");
const boardSetting = z.union([
  policyName,
  z.object({ policy: policyName.default("best"), clientSubmit: bounds.optional() }).strict(),
]);

/**
 * `modules.rank.settings`: `boards` maps a board name to "best" | "accumulate" (modules submit
 * only) or `{policy, clientSubmit: {min, max}}` (clients may also submit scores within the
 * bounds); only these boards exist. `admins`: uids that may call rank.ResetSeason.
 */
export const RankSettings = z
  .object({
    boards: z.record(z.string().regex(BOARD_NAME, "a board name is 1-64 letters, digits, '_', '-' or '.'"), boardSetting).default({}),
    admins: z.array(z.string()).default([]),
  })
  .strict();
export type RankSettings = z.output<typeof RankSettings>;

/** The configured boards from validated settings. */
export function policiesOf(settings: RankSettings): BoardPolicies {
  const byBoard = new Map<string, BoardConfig>();
  for (const [board, value] of Object.entries(settings.boards)) {
    byBoard.set(
      board,
      typeof value === "string"
        ? { policy: PolicyName[value], clientSubmit: null }
        : { policy: PolicyName[value.policy], clientSubmit: value.clientSubmit ?? null },
    );
  }
  return { byBoard };
}
