import type { Bot } from "../../../src/bots/index.js";

/** How often a waiting bot looks again. */
const POLL_MS = 20;

/**
 * Waits until `check()` returns a value other than undefined and resolves with it; rejects with
 * "timed out after N s waiting for <what>" after `timeoutMs`. Polls through `bot.sleep` (think
 * time the run can cut short); once the run is over and bot.sleep returns at once, it falls back
 * to a plain timer, so a bot finishing its last round neither spins nor waits forever.
 */
export async function waitFor<T>(bot: Bot, what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`bot #${bot.index}: timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}`);
    const t0 = Date.now();
    await bot.sleep(Math.min(POLL_MS, left));
    if (Date.now() - t0 < POLL_MS / 2) await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
  }
}
