import type { scene } from "../../src/generated/proto.js";
import type { AoiGrid } from "./grid.js";

/**
 * The positions of one tick, per recipient: every player that moved in the tick goes to each
 * player who sees it now (at the end of the tick). Whoever stopped seeing a mover during the
 * tick was sent a Disappear instead, so positions never reach a player that no longer sees it.
 */
export function positionsPerRecipient(grid: AoiGrid, moved: Iterable<scene.PlayerState>, receives: (uid: string) => boolean): Map<string, scene.PlayerState[]> {
  const out = new Map<string, scene.PlayerState[]>();
  for (const state of moved) {
    grid.forEachVisible(state.uid, (other) => {
      if (!receives(other)) return;
      const list = out.get(other);
      if (list === undefined) out.set(other, [state]);
      else list.push(state);
    });
  }
  return out;
}
