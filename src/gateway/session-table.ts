/** The minimum a table entry needs: an id and a bound uid. */
export interface TableEntry {
  readonly sid: number;
  uid: string | null;
}

const MAX_SID = 0xffffffff;

/**
 * The sessions of one gateway, by sid and by uid. Sids are uint32, start at 1, increase, and
 * skip 0 and ids still in use after wrapping. Several sessions may share a uid here (the login
 * module enforces one session per user, not the gateway).
 */
export class SessionTable<S extends TableEntry> {
  private readonly bySid = new Map<number, S>();
  private readonly byUid = new Map<string, Set<S>>();
  private nextSid: number;

  /** `firstSid` exists for tests of the wrap-around. */
  constructor(firstSid = 1) {
    this.nextSid = firstSid;
  }

  /** Sessions held. */
  get size(): number {
    return this.bySid.size;
  }

  /** Returns a sid not in use (call `add` with it right away). */
  allocateSid(): number {
    for (;;) {
      const sid = this.nextSid;
      this.nextSid = sid >= MAX_SID ? 1 : sid + 1;
      if (sid !== 0 && !this.bySid.has(sid)) return sid;
    }
  }

  /** Adds a session (indexed by uid too when already bound). */
  add(session: S): void {
    this.bySid.set(session.sid, session);
    if (session.uid !== null) this.index(session, session.uid);
  }

  /** Removes a session from both indexes; false when it was not there. */
  remove(session: S): boolean {
    if (this.bySid.get(session.sid) !== session) return false;
    this.bySid.delete(session.sid);
    if (session.uid !== null) this.unindex(session, session.uid);
    return true;
  }

  /** Session by sid, or undefined. */
  get(sid: number): S | undefined {
    return this.bySid.get(sid);
  }

  /** Sessions bound to `uid` (empty when none). */
  byUser(uid: string): S[] {
    const set = this.byUid.get(uid);
    return set === undefined ? [] : [...set];
  }

  /**
   * Moves a session's uid index from its old uid to `uid` (null unbinds). Call BEFORE changing
   * `session.uid`; `apply` sets the new uid on the session (e.g. rebuilding its headers).
   */
  rebind(session: S, uid: string | null, apply: (session: S, uid: string | null) => void): void {
    if (session.uid !== null) this.unindex(session, session.uid);
    apply(session, uid);
    if (uid !== null && this.bySid.get(session.sid) === session) this.index(session, uid);
  }

  /** Live iterator over the sessions (removing the current one while iterating is safe). */
  values(): IterableIterator<S> {
    return this.bySid.values();
  }

  /** Every session (a snapshot, safe to close them while iterating). */
  all(): S[] {
    return [...this.bySid.values()];
  }

  private index(session: S, uid: string): void {
    let set = this.byUid.get(uid);
    if (set === undefined) {
      set = new Set();
      this.byUid.set(uid, set);
    }
    set.add(session);
  }

  private unindex(session: S, uid: string): void {
    const set = this.byUid.get(uid);
    if (set === undefined) return;
    set.delete(session);
    if (set.size === 0) this.byUid.delete(uid);
  }
}
