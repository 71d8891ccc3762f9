import type { AoiGrid } from "./grid.js";

/**
 * The positions of one tick, per recipient: the part of every player that moved in the tick
 * goes to each player who sees it now (at the end of the tick). Whoever stopped seeing a mover
 * during the tick was sent a Disappear instead, so positions never reach a player that no
 * longer sees it.
 */
export function positionsPerRecipient<T>(grid: AoiGrid, moved: Iterable<readonly [uid: string, part: T]>, receives: (uid: string) => boolean): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const [uid, part] of moved) {
    grid.forEachVisible(uid, (other) => {
      if (!receives(other)) return;
      const list = out.get(other);
      if (list === undefined) out.set(other, [part]);
      else list.push(part);
    });
  }
  return out;
}
