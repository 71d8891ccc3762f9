/**
 * A started ordered request of a session: its place in the session's reply order. `deliver`
 * is set when the request finished and sends its reply once every earlier reply went out.
 */
export interface OrderSlot {
  readonly pipelined: boolean;
  deliver: (() => void) | null;
}

/** A waiting request that may start now, with its slot. */
export interface Ready<T> {
  readonly item: T;
  readonly slot: OrderSlot;
}

/** What one session has started and not answered, and what waits behind it. */
interface Lane<T> {
  /** Started and not finished. */
  running: number;
  /** One of the running requests is not pipelined: nothing else may start. */
  serialRunning: boolean;
  /** Started requests whose replies have not gone out, in arrival order. */
  readonly started: OrderSlot[];
  /** Not started, in arrival order (null until something waits). */
  waiting: T[] | null;
}

/**
 * The per-session order of a module instance. A gateway pipelines a session's requests to one
 * instance (see src/gateway/request-lane.ts) and relies on this to keep their order:
 *
 * - A request of a route that is not pipelined (the default) starts when every earlier request
 *   of its session has finished, and nothing later starts before it finished: one at a time.
 * - A request of a pipelined route (the module lists it in `pipelined`: its handler issues all
 *   its state work before its first await, e.g. one Redis script) also starts while earlier
 *   pipelined ones run. Their Redis commands leave in arrival order on the instance's one
 *   connection, so Redis applies them in that order.
 * - Replies go out in arrival order either way: a reply that is ready early waits for the
 *   earlier ones.
 *
 * Keyed by gateway id and session id as the request headers carry them (two lookups, no key
 * string built per request); a session with nothing started has no entry, and a request that
 * finishes synchronously with nothing of its session started needs none.
 */
export class SessionOrder<T> {
  /** gateway → sid → lane. */
  private readonly byGateway = new Map<string, Map<string, Lane<T>>>();
  private readonly isPipelined: (item: T) => boolean;
  private lanes = 0;

  /** `isPipelined` tells whether a waiting item is of a pipelined route. */
  constructor(isPipelined: (item: T) => boolean) {
    this.isPipelined = isPipelined;
  }

  /** Sessions with a request started and not answered. */
  get size(): number {
    return this.lanes;
  }

  /** True while nothing of session (`gateway`, `sid`) is started: a request may run without a slot. */
  idle(gateway: string, sid: string): boolean {
    return this.lanes === 0 || this.byGateway.get(gateway)?.has(sid) !== true;
  }

  /** A slot for a request that starts now in a session that is `idle` (it went asynchronous). */
  open(gateway: string, sid: string, pipelined: boolean): OrderSlot {
    let sessions = this.byGateway.get(gateway);
    if (sessions === undefined) {
      sessions = new Map();
      this.byGateway.set(gateway, sessions);
    }
    const slot: OrderSlot = { pipelined, deliver: null };
    sessions.set(sid, { running: 1, serialRunning: !pipelined, started: [slot], waiting: null });
    this.lanes++;
    return slot;
  }

  /**
   * For a request of a session that is not `idle`: a slot when it may start now (pipelined,
   * behind pipelined ones only, nothing waiting), or null: it must `wait`.
   */
  join(gateway: string, sid: string, pipelined: boolean): OrderSlot | null {
    const lane = this.byGateway.get(gateway)!.get(sid)!;
    if (lane.waiting !== null && lane.waiting.length > 0) return null;
    if (!mayStart(lane, pipelined)) return null;
    return start(lane, pipelined);
  }

  /** Queues `item` behind the session's started requests (after `join` said null). */
  wait(gateway: string, sid: string, item: T): void {
    const lane = this.byGateway.get(gateway)!.get(sid)!;
    if (lane.waiting === null) lane.waiting = [item];
    else lane.waiting.push(item);
  }

  /**
   * The request of `slot` finished and `deliver` sends its reply. Sends every reply now due, in
   * arrival order, and returns the waiting requests that start now (their slots taken), in
   * order, or null when none does.
   */
  finish(gateway: string, sid: string, slot: OrderSlot, deliver: () => void): Ready<T>[] | null {
    const sessions = this.byGateway.get(gateway)!;
    const lane = sessions.get(sid)!;
    slot.deliver = deliver;
    lane.running--;
    if (!slot.pipelined) lane.serialRunning = false;
    const started = lane.started;
    while (started.length > 0 && started[0]!.deliver !== null) started.shift()!.deliver!();
    let ready: Ready<T>[] | null = null;
    const waiting = lane.waiting;
    while (waiting !== null && waiting.length > 0) {
      const pipelined = this.isPipelined(waiting[0]!);
      if (!mayStart(lane, pipelined)) break;
      (ready ??= []).push({ item: waiting.shift()!, slot: start(lane, pipelined) });
    }
    if (lane.running === 0 && started.length === 0) {
      sessions.delete(sid);
      if (sessions.size === 0) this.byGateway.delete(gateway);
      this.lanes--;
    }
    return ready;
  }
}

function mayStart(lane: Lane<unknown>, pipelined: boolean): boolean {
  return lane.running === 0 || (pipelined && !lane.serialRunning);
}

function start(lane: Lane<unknown>, pipelined: boolean): OrderSlot {
  const slot: OrderSlot = { pipelined, deliver: null };
  lane.running++;
  if (!pipelined) lane.serialRunning = true;
  lane.started.push(slot);
  return slot;
}
