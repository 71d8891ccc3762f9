/** Where coalesced bytes go: a socket's `write`, or a test's collector. */
export interface ByteSink {
  write(chunk: Uint8Array): unknown;
}

/**
 * Coalesces the frames queued during one tick into a single write. Load-test bots and
 * benchmarks queue many requests at once; one syscall (and, with Nagle off, one TCP segment)
 * for all of them instead of one per frame. The flush runs on `process.nextTick`, i.e. after the
 * current synchronous code and the promise continuations it started have run.
 */
export class FrameWriter {
  private readonly sink: ByteSink;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private closed = false;
  private readonly flushBound = (): void => this.flush();

  constructor(sink: ByteSink) {
    this.sink = sink;
  }

  /** Bytes queued but not yet handed to the sink. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues one complete frame; ignored after {@link close}. */
  write(frame: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  /** Hands everything queued to the sink now, as one chunk. */
  flush(): void {
    this.scheduled = false;
    const n = this.queue.length;
    if (n === 0 || this.closed) return;
    const chunk = n === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queuedBytes);
    this.queue = [];
    this.queuedBytes = 0;
    this.sink.write(chunk);
  }

  /** Drops anything queued and ignores later writes (the socket is gone). */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
  }
}
