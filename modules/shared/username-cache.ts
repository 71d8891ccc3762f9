import type { UsernameLookup, usernamesFromLogin } from "./usernames.js";

/** Default number of uids a cache remembers. */
export const DEFAULT_USERNAME_CACHE_SIZE = 100_000;

/**
 * Usernames of uids, remembered in this process. A username is written once, at registration,
 * and never changes, so a cached name cannot go stale; an unknown uid ("") is not cached, as the
 * account may still be created. Misses are asked for in one lookup (login.Usernames, see
 * {@link usernamesFromLogin}).
 *
 * Why: a Top of 10 rows otherwise costs a call to login on every request, for names that never
 * change.
 */
export class UsernameCache {
  private readonly names = new Map<string, string>();
  /** Lookups under way, by each uid they ask for. */
  private readonly pending = new Map<string, Promise<Map<string, string>>>();

  /** @param maxSize uids kept; the oldest entries are dropped beyond it. */
  constructor(
    private readonly fetch: UsernameLookup,
    private readonly maxSize = DEFAULT_USERNAME_CACHE_SIZE,
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError(`username cache size must be an integer >= 1, got ${maxSize}`);
  }

  /**
   * Usernames of `uids` ("" for unknown ones); one lookup of the misses at most. A uid already
   * being looked up by another call waits for that lookup (a cold Top under load asks once).
   */
  async lookup(uids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let missing: string[] | null = null;
    let waits: Promise<void>[] | null = null;
    for (const uid of uids) {
      const name = this.names.get(uid);
      if (name !== undefined) {
        out.set(uid, name);
        continue;
      }
      const inflight = this.pending.get(uid);
      if (inflight !== undefined) (waits ??= []).push(inflight.then((names) => void out.set(uid, names.get(uid) ?? "")));
      else (missing ??= []).push(uid);
    }
    if (missing !== null) {
      const batch = this.fetch(missing);
      for (const uid of missing) this.pending.set(uid, batch);
      try {
        const fetched = await batch;
        for (const uid of missing) {
          const name = fetched.get(uid) ?? "";
          out.set(uid, name);
          if (name !== "") this.remember(uid, name);
        }
      } finally {
        for (const uid of missing) if (this.pending.get(uid) === batch) this.pending.delete(uid);
      }
    }
    if (waits !== null) await Promise.all(waits);
    return out;
  }

  /** The cached username of `uid`, or undefined (no lookup: for a synchronous fast path). */
  cached(uid: string): string | undefined {
    return this.names.get(uid);
  }

  /** How many uids are cached. */
  get size(): number {
    return this.names.size;
  }

  private remember(uid: string, name: string): void {
    if (this.names.size >= this.maxSize && !this.names.has(uid)) {
      // Map iterates in insertion order: the first key is the oldest.
      const oldest = this.names.keys().next().value;
      if (oldest !== undefined) this.names.delete(oldest);
    }
    this.names.set(uid, name);
  }
}
