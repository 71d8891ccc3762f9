// What the slow-clients scenario's processes agree on: the route mix, the rank board, the
// control subjects between the bench and its drivers / push module, and their JSON messages.

/** The rank board the clients submit to (configured in the scenario's cluster config). */
export const SLOW_BOARD = "slow";

/** The push route the bench's push module sends (a declared push route; the clients only count PUSH frames). */
export const SLOW_PUSH_ROUTE = "team.ChatMessage";

/** The requests a client cycles through after login: rank, team and game, Redis-bound each. */
export const SLOW_ROUTES = ["rank.Submit", "rank.Top", "team.Info", "game.ListRooms"] as const;

/** Subject a driver answers `DriverRun` requests on. */
export function driverSubject(name: string): string {
  return `bench.slow.driver.${name}`;
}

/** Subject the push module takes its `PushTargets` on (request/reply: answered once applied). */
export const PUSHER_SUBJECT = "bench.slow.pusher";

/** Ask a driver to load for a window: `rate` requests/s per connection (open loop). */
export interface DriverRun {
  kind: "run";
  rate: number;
  warmupMs: number;
  measureMs: number;
}

/** Ask a driver for the uids its connections logged in as. */
export interface DriverUids {
  kind: "uids";
}

/** What a driver measured in the window. */
export interface DriverResult {
  connections: number;
  /** Requests sent in the window. */
  sent: number;
  /** RESPONSE replies in the window. */
  ok: number;
  /** ERROR replies in the window, by wire code. */
  errors: Record<string, number>;
  /** Requests not sent because the connection already had MAX_OUTSTANDING waiting. */
  skipped: number;
  /** Requests sent in the window with no reply 20 s after it ended. */
  unanswered: number;
  /** PUSH frames received in the window. */
  pushes: number;
  /** Histogram.toSparse() of the request latencies (send to reply) in the window. */
  hist: number[];
}

/** The uids the push module pushes to, each once per second (empty: stop pushing). */
export interface PushTargets {
  uids: string[];
}
