/**
 * The per-session queues of a module instance: while one ordered request of a session runs
 * (asynchronously), the session's later ordered requests wait here and run one after another
 * in arrival order. A gateway pipelines a session's requests to one instance (see
 * src/gateway/request-lane.ts) and relies on this to keep their order. Keyed by gateway id and
 * session id as the request headers carry them (two lookups, no key string built per request);
 * a session that is not running anything has no entry.
 */
export class SessionOrder<T> {
  /** gateway → sid → what waits behind the running request (null until something waits). */
  private readonly byGateway = new Map<string, Map<string, T[] | null>>();
  private held = 0;

  /** Sessions with a request running. */
  get size(): number {
    return this.held;
  }

  /** True while a request of session (`gateway`, `sid`) runs: a new one must `wait`. */
  busy(gateway: string, sid: string): boolean {
    return this.held > 0 && this.byGateway.get(gateway)?.has(sid) === true;
  }

  /** Marks the session as running a request (it must not be running one already). */
  hold(gateway: string, sid: string): void {
    let sessions = this.byGateway.get(gateway);
    if (sessions === undefined) {
      sessions = new Map();
      this.byGateway.set(gateway, sessions);
    }
    sessions.set(sid, null);
    this.held++;
  }

  /** Queues `item` behind the session's running request (the session must be `busy`). */
  wait(gateway: string, sid: string, item: T): void {
    const sessions = this.byGateway.get(gateway)!;
    const waiting = sessions.get(sid);
    if (waiting) waiting.push(item);
    else sessions.set(sid, [item]);
  }

  /**
   * The running request of the session finished: returns the next waiting item, which now
   * runs (the session stays held), or null when none waits (the session is free again).
   */
  next(gateway: string, sid: string): T | null {
    const sessions = this.byGateway.get(gateway);
    const waiting = sessions?.get(sid);
    if (sessions === undefined || waiting === undefined) return null;
    if (waiting !== null && waiting.length > 0) return waiting.shift()!;
    sessions.delete(sid);
    if (sessions.size === 0) this.byGateway.delete(gateway);
    this.held--;
    return null;
  }
}
