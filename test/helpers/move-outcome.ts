import { expect } from "vitest";
import { startMoveLoad, type LoadUser, type MoveOutcome } from "../../bench/lib/move-load.js";
import { ctl, until, type CtlRun } from "./ops.js";

/**
 * `ctl rollout gateway` while the move load runs (users 0-3 players, 4 talker, 5 teller, 6
 * notifier, in chat room `room`): ctl's result, and the load's outcome once 300 more requests
 * were answered after it.
 */
export async function rolloutUnderLoad(config: string, users: readonly LoadUser[], room: string): Promise<{ res: CtlRun; out: MoveOutcome }> {
  const load = await startMoveLoad({ players: users.slice(0, 4), talker: users[4]!, teller: users[5]!, notifier: users[6]!, room, requestsPerPlayer: 4, pushGapMs: 0 });
  await until("load to flow", 10_000, async () => (load.answered >= 200 ? true : undefined));
  load.setPhase("during");
  const res = await ctl(config, ["rollout", "gateway"], 120_000);
  load.setPhase("after");
  const atRollout = load.answered;
  await until("requests after the rollout", 15_000, async () => (load.answered >= atRollout + 300 ? true : undefined));
  return { res, out: await load.stop() };
}

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
