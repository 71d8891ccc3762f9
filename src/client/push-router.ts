/** Receives the body of a PUSH packet, undecoded. */
export type RawPushHandler = (body: Uint8Array, route: string) => void;

/** Removes a handler registered with `on`/`onRaw`; calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * Delivers PUSH packets to the handlers registered for their route. A handler that throws
 * does not stop the others or the read loop: its error goes to `report`.
 */
export class PushRouter {
  private readonly handlers = new Map<string, RawPushHandler[]>();
  private readonly report: (err: unknown, route: string) => void;

  constructor(report: (err: unknown, route: string) => void) {
    this.report = report;
  }

  /** Adds a handler for one route. */
  add(route: string, handler: RawPushHandler): Unsubscribe {
    const list = this.handlers.get(route);
    // Copy on write: a handler that unsubscribes during dispatch does not disturb the loop.
    this.handlers.set(route, list === undefined ? [handler] : [...list, handler]);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const now = this.handlers.get(route);
      if (now === undefined) return;
      const rest = now.filter((h) => h !== handler);
      if (rest.length === 0) this.handlers.delete(route);
      else this.handlers.set(route, rest);
    };
  }

  /** True when some handler listens to `route`. */
  has(route: string): boolean {
    return this.handlers.has(route);
  }

  /** Hands one push to every handler of its route; returns how many there were. */
  dispatch(route: string, body: Uint8Array): number {
    const list = this.handlers.get(route);
    if (list === undefined) return 0;
    for (const h of list) {
      try {
        h(body, route);
      } catch (err) {
        this.report(err, route);
      }
    }
    return list.length;
  }

  /** Forgets every handler. */
  clear(): void {
    this.handlers.clear();
  }
}
