import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { connect, type Client, type ClientOptions } from "../client/index.js";
import type { Bot, Scenario } from "./scenario.js";
import { BotStats, type BotsReport } from "./stats.js";

/** How to run a fleet of bots. */
export interface BotsRunOptions {
  scenario: Scenario;
  /** Name shown in the report (the scenario file). */
  scenarioName: string;
  bots: number;
  /** Bots start evenly spread over this many seconds (0: all at once). */
  rampSeconds: number;
  /** Play phases loop until this many seconds after the start; null: once. */
  durationSeconds: number | null;
  /** The gateway; the SDK's defaults otherwise. */
  client?: ClientOptions;
  /** Called about every `progressMs` while running (and once at the end). */
  onProgress?(stats: BotStats, elapsedMs: number): void;
  progressMs?: number;
}

const PASSWORD = "bot-password-1";

/**
 * Starts `bots` virtual players, ramped, each connecting its own SDK client and running the
 * scenario; resolves with the report once every bot finished or failed. A bot that cannot
 * connect or whose scenario throws is counted as failed with the reason.
 */
export async function runBots(opts: BotsRunOptions): Promise<BotsReport> {
  const stats = new BotStats();
  const runId = randomBytes(3).toString("hex");
  const shared = new Map<string, unknown>();
  const t0 = performance.now();
  const deadline = opts.durationSeconds === null ? 0 : t0 + opts.durationSeconds * 1000;
  const running = (): boolean => deadline !== 0 && performance.now() < deadline;
  const sleepers = new Set<() => void>();
  let stopTimer: NodeJS.Timeout | null = null;
  if (deadline !== 0) {
    stopTimer = setTimeout(() => {
      for (const wake of sleepers) wake();
      sleepers.clear();
    }, deadline - t0);
  }
  const progress = opts.onProgress
    ? setInterval(() => opts.onProgress!(stats, performance.now() - t0), opts.progressMs ?? 250)
    : null;
  const rampMs = Math.max(0, opts.rampSeconds * 1000);
  const runs: Promise<void>[] = [];
  for (let i = 0; i < opts.bots; i++) {
    const startIn = opts.bots > 1 ? (rampMs * i) / opts.bots : 0;
    runs.push(runOne(i, startIn));
  }
  await Promise.all(runs);
  if (stopTimer) clearTimeout(stopTimer);
  if (progress) clearInterval(progress);
  const elapsedMs = performance.now() - t0;
  opts.onProgress?.(stats, elapsedMs);
  return stats.report({
    scenario: opts.scenarioName,
    target: `${opts.client?.host ?? "127.0.0.1"}:${opts.client?.port ?? 3250}`,
    bots: opts.bots,
    rampSeconds: opts.rampSeconds,
    durationSeconds: opts.durationSeconds,
    elapsedSeconds: Math.round(elapsedMs) / 1000,
  });

  async function runOne(index: number, startInMs: number): Promise<void> {
    if (startInMs > 0) await new Promise((r) => setTimeout(r, startInMs));
    let client: Client;
    try {
      client = await connect({ ...opts.client });
    } catch (err) {
      stats.fail(index, err);
      return;
    }
    stats.connected++;
    const sleep = (ms: number): Promise<void> =>
      new Promise<void>((resolve) => {
        if (deadline !== 0 && !running()) return resolve();
        const done = (): void => {
          clearTimeout(t);
          sleepers.delete(done);
          resolve();
        };
        const t = setTimeout(done, ms);
        sleepers.add(done);
      });
    const timed = async <T>(route: string, call: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      try {
        const out = await call();
        stats.record(route, performance.now() - start, null);
        return out;
      } catch (err) {
        stats.record(route, performance.now() - start, err);
        throw err;
      }
    };
    const bot: Bot = {
      index,
      bots: opts.bots,
      username: `bot-${runId}-${index}`,
      password: PASSWORD,
      client,
      get running() {
        return running();
      },
      request: (route, msg) => timed(route, () => client.request(route, msg)),
      requestRaw: (route, body) => timed(route, () => client.requestRaw(route, body)),
      sleep,
      randomInt: (min, max) => min + Math.floor(Math.random() * (max - min + 1)),
      shared,
    };
    try {
      await opts.scenario(bot);
      stats.finished++;
    } catch (err) {
      stats.fail(index, err);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
}
