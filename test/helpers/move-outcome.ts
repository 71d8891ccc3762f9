import { expect } from "vitest";
import type { MoveOutcome } from "../../bench/lib/move-load.js";

/** Prints the outcome and asserts the counts a move must keep: 0 failed, 0 missing, 0 duplicated. */
export function expectClean(label: string, out: MoveOutcome): void {
  const moved = out.players.reduce((n, p) => n + p.reconnects, 0);
  console.log(`${label}: ${out.requests} requests, ${out.failures.length} failed; ${out.pushesSent} pushes expected; ${moved} client moves; p99 before ${out.p99.before.toFixed(1)} ms, during ${out.p99.during.toFixed(1)} ms`);
  expect(out.failures, JSON.stringify(out.failures.slice(0, 5))).toEqual([]);
  for (const p of out.players) {
    expect(p, JSON.stringify(p)).toMatchObject({ roomMissing: 0, roomDuplicated: 0, roomInOrder: true, tellMissing: 0, tellDuplicated: 0, tellInOrder: true, notifyMissing: 0, notifyDuplicated: 0, notifyInOrder: true, resyncs: 0 });
    expect(p.roomExpected).toBeGreaterThan(10);
    expect(p.tellExpected).toBeGreaterThan(5);
    expect(p.notifyExpected).toBeGreaterThan(5);
  }
}
