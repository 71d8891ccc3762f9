import type { Redis } from "ioredis";

/**
 * The channel log: every channel publication is also appended, as the cluster.ChannelMessage
 * bytes published on NATS, to a Redis stream per channel, kept for the resume window and at
 * most about `gateway.resume.maxPushes` entries. A gateway that dies takes its channel
 * subscriptions with it, so what its members' channels published until a live gateway adopted
 * them reached nobody; the adopter (or the gateway where such a member resumes) reads it here.
 */
/**
 * How far before the moment a gateway was last seen alive (or a session went away) its
 * channels' logs are read: clocks of different hosts and publications still in flight.
 */
export const LOG_CUT_MARGIN_MS = 2_000;

const logKey = (channel: string): string => `sy:chan:{${channel}}`;

/** Most channels whose last expiry a writer remembers (past it, it forgets them all and sets each again). */
const MAX_REMEMBERED = 10_000;

/**
 * Appends publications to channel logs, for one publishing instance. The log's expiry is set
 * with the first append and again once a quarter of the window passed (to 1.25 windows), not
 * with every append: one Redis command per publication instead of two.
 */
export class ChannelLogWriter {
  private readonly expiredAt = new Map<string, number>();

  constructor(
    private readonly redis: () => Redis,
    private readonly limits: { maxEntries: number; windowMs: number },
    private readonly onError: (err: Error) => void,
  ) {}

  /** Appends one publication (`encoded`: a cluster.ChannelMessage) to `channel`'s log; not awaited. */
  append(channel: string, encoded: Uint8Array, now = Date.now()): void {
    const key = logKey(channel);
    const redis = this.redis();
    redis.xadd(key, "MAXLEN", "~", this.limits.maxEntries, "*", "m", Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength)).catch(this.onError);
    const last = this.expiredAt.get(channel);
    if (last !== undefined && now - last < this.limits.windowMs / 4) return;
    if (this.expiredAt.size >= MAX_REMEMBERED) this.expiredAt.clear();
    this.expiredAt.set(channel, now);
    redis.pexpire(key, Math.ceil(this.limits.windowMs * 1.25)).catch(this.onError);
  }
}

/** One logged publication: where it sits in its log (Redis stream id: ms, then a counter) and its bytes. */
export interface LoggedPublication {
  ms: number;
  n: number;
  /** A cluster.ChannelMessage. */
  message: Buffer;
}

/** What a channel's log holds since a moment. */
export interface ChannelLogRead {
  entries: LoggedPublication[];
  /** False when the log may have been trimmed past the moment (more than its bound were published). */
  complete: boolean;
}

/** Reads channel logs (see appendToChannelLog). */
export class ChannelLogReader {
  constructor(
    private readonly redis: Redis,
    private readonly maxEntries: number,
  ) {}

  /** The publications of `channel` logged at or after `sinceMs` (Redis server time, unix ms), oldest first. */
  async since(channel: string, sinceMs: number): Promise<ChannelLogRead> {
    const key = logKey(channel);
    const res = (await this.redis.multi().xrangeBuffer(key, String(Math.max(0, Math.floor(sinceMs))), "+").xlen(key).exec()) as [
      [Error | null, [Buffer, Buffer[]][]],
      [Error | null, number],
    ];
    if (res[0][0] !== null) throw res[0][0];
    const raw = res[0][1];
    const entries = raw.map(([id, fields]) => {
      const [ms, n] = id.toString().split("-");
      return { ms: Number(ms), n: Number(n), message: fields[1]! };
    });
    // Every entry is after the moment and the log is at its bound: older ones may have been trimmed.
    const complete = !(raw.length > 0 && raw.length === res[1][1] && raw.length >= this.maxEntries);
    return { entries, complete };
  }

  /** The publications of several channels since `sinceMs`, merged in log order (by time across channels). */
  async sinceAll(channels: readonly string[], sinceMs: number, read: (channel: string) => Promise<ChannelLogRead> = (c) => this.since(c, sinceMs)): Promise<ChannelLogRead> {
    const reads = await Promise.all(channels.map(read));
    const entries = reads.flatMap((r) => r.entries).sort((a, b) => a.ms - b.ms || a.n - b.n);
    return { entries, complete: reads.every((r) => r.complete) };
  }
}
