import type { Client, ReplyOf, RequestOf, Route } from "../client/index.js";

/**
 * One virtual player, handed to a scenario. Calls made through `request` are timed and counted
 * in the report (per route, errors by code); a scenario that throws marks its bot as failed with
 * that error as the reason.
 */
export interface Bot {
  /** 0-based index of this bot in the run. */
  readonly index: number;
  /** How many bots the run has (e.g. to pair bots: the last one of an odd count has no partner). */
  readonly bots: number;
  /** A username unique to this bot and run (3-32 chars), e.g. for login.Register. */
  readonly username: string;
  /** The password this bot registers with. */
  readonly password: string;
  /** The SDK client, connected to the gateway (calls made on it directly are not counted). */
  readonly client: Client;
  /**
   * True while the run has time left: with --duration, until it has passed; without, always
   * false. A scenario loops its play phase with `do { … } while (bot.running)`: once without
   * --duration, again and again with it.
   */
  readonly running: boolean;
  /** Calls a route through the SDK, timed and counted; rejects like `client.request`. */
  request<R extends Route>(route: R, msg: Partial<RequestOf<R>>): Promise<ReplyOf<R>>;
  /** Like `request` with an already-encoded body (routes added after this build). */
  requestRaw(route: string, body: Uint8Array): Promise<Uint8Array>;
  /** Waits `ms` (think time); resolves early when the run ends. */
  sleep(ms: number): Promise<void>;
  /** A random integer in [min, max]. */
  randomInt(min: number, max: number): number;
  /** Values shared by every bot of the run (e.g. a team id created by bot 0). */
  readonly shared: Map<string, unknown>;
}

/**
 * A scenario file's default export: what one bot does, run once per bot (its play phase loops
 * on `bot.running` to last for --duration).
 *
 * @example
 * export default defineScenario(async (bot) => {
 *   await bot.request("login.Register", { username: bot.username, password: bot.password });
 *   await bot.request("login.Login", { username: bot.username, password: bot.password });
 * });
 */
export type Scenario = (bot: Bot) => Promise<void>;

/** Identity helper giving a scenario its type. */
export function defineScenario(fn: Scenario): Scenario {
  return fn;
}
