import type { TakenRequest } from "./pending-requests.js";

/** A NOTIFY as sent on a connection: its packet number there (1, 2, … per connection, uint32). */
export interface SentNotify {
  readonly n: number;
  readonly route: string;
  readonly body: Uint8Array;
}

/** What a gateway move sends again on the new connection, in the order first sent. */
export type Resend = { kind: "request"; request: TakenRequest } | { kind: "notify"; route: string; body: Uint8Array };

/** NOTIFYs a client remembers per connection for a move (the older ones are forgotten). */
export const KEPT_NOTIFIES = 256;

/** True when packet number `n` came after the `read` first packets (uint32 numbers that wrap). */
export function unread(n: number, read: number): boolean {
  return ((n - read) | 0) > 0;
}

/**
 * What to send again after KICK MOVED, whose id says how many packets the gateway read: the
 * unanswered requests (a gateway answers every request it read before it moves the client, so
 * these were never read) and the NOTIFYs numbered after `read`, merged in their send order.
 * A request of unknown number (`sent` 0) goes after the numbered ones.
 */
export function movedResends(read: number, unanswered: readonly TakenRequest[], notifies: readonly SentNotify[]): Resend[] {
  const items: { order: number; item: Resend }[] = [];
  for (const r of unanswered) items.push({ order: r.sent === 0 ? Number.POSITIVE_INFINITY : (r.sent - read) >>> 0, item: { kind: "request", request: r } });
  for (const x of notifies) if (unread(x.n, read)) items.push({ order: (x.n - read) >>> 0, item: { kind: "notify", route: x.route, body: x.body } });
  // stable: equal orders (unknown numbers) keep their send order
  items.sort((a, b) => (a.order === b.order ? 0 : a.order < b.order ? -1 : 1));
  return items.map((x) => x.item);
}
