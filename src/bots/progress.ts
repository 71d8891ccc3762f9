import type { BotStats } from "./stats.js";

/** Where progress goes: stderr, or a test's collector. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * The live progress line of a bots run: redrawn in place (a few times a second) when the
 * stream is a terminal, else one plain line every `plainEveryMs` so logs stay readable.
 */
export function progressPrinter(stream: ProgressStream, total: number, plainEveryMs = 5_000): { update(stats: BotStats, elapsedMs: number): void; done(): void } {
  const tty = stream.isTTY === true;
  let lastCalls = 0;
  let lastAt = 0;
  let lastPrinted = -Infinity;
  let rps = 0;
  let drawn = false;
  return {
    update(stats, elapsedMs) {
      const dt = elapsedMs - lastAt;
      if (dt >= 200) {
        rps = ((stats.calls - lastCalls) * 1000) / dt;
        lastCalls = stats.calls;
        lastAt = elapsedMs;
      }
      const active = stats.connected - stats.finished - stats.failed;
      const line =
        `bots ${stats.connected}/${total} connected, ${Math.max(active, 0)} playing, ${stats.finished} done, ${stats.failed} failed` +
        ` · ${stats.calls.toLocaleString("en-US")} calls · ${Math.round(rps).toLocaleString("en-US")} rps · ${stats.errorCount} errors · ${(elapsedMs / 1000).toFixed(1)} s`;
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (elapsedMs - lastPrinted >= plainEveryMs) {
        stream.write(`${line}\n`);
        lastPrinted = elapsedMs;
      }
    },
    done() {
      if (tty && drawn) stream.write("\n");
    },
  };
}
