import { stampSeq } from "../protocol/packet.js";

/**
 * The last pushes sent to a bound session, kept to replay the ones that may have died in the
 * socket when the connection drops (see Gateway.detach). A ring of at most `capacity` entries:
 * each holds the PUSH frame as shared by every member it went to, and this session's seq, never
 * a copy of the frame. The stamped copies are made only when the session is stored as away.
 */
export class RecentPushes {
  private readonly capacity: number;
  private readonly frames: Buffer[] = [];
  private readonly seqs: number[] = [];
  /** Index of the oldest entry once the ring is full. */
  private start = 0;

  /** `capacity` > 0: how many pushes are kept. */
  constructor(capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`RecentPushes capacity must be > 0, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Pushes kept (at most the capacity). */
  get size(): number {
    return this.frames.length;
  }

  /** Remembers the shared `frame` sent with `seq`; the oldest entry goes once the ring is full. */
  add(frame: Buffer, seq: number): void {
    if (this.frames.length < this.capacity) {
      this.frames.push(frame);
      this.seqs.push(seq);
      return;
    }
    const i = this.start;
    this.frames[i] = frame;
    this.seqs[i] = seq;
    this.start = i + 1 === this.capacity ? 0 : i + 1;
  }

  /** The kept pushes, oldest first, each a stamped copy (what a resume replays), and their seqs. */
  stamped(): { frames: Buffer[]; seqs: number[] } {
    const n = this.frames.length;
    const frames: Buffer[] = new Array<Buffer>(n);
    const seqs: number[] = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const i = (this.start + k) % n;
      seqs[k] = this.seqs[i]!;
      frames[k] = stampSeq(this.frames[i]!, this.seqs[i]!);
    }
    return { frames, seqs };
  }
}
