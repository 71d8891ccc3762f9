/** The part of a net.Socket a SocketWriter uses (a fake in unit tests). */
export interface WritableSocket {
  write(chunk: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
}

/** Above this many queued bytes a flush corks and writes the frames one by one instead of copying them into one buffer. */
const CONCAT_LIMIT = 256 * 1024;

/**
 * Flushes every writer that got frames during this tick, once, from a single `setImmediate`:
 * one scheduled callback for the whole gateway rather than one per socket or frame.
 */
export class WriteScheduler {
  private dirty: SocketWriter[] = [];
  private spare: SocketWriter[] = [];
  private scheduled = false;
  private readonly run = (): void => this.flushAll();
  private readonly defer: (fn: () => void) => void;

  /** `defer` schedules the flush; `setImmediate` by default (after this tick's I/O callbacks). */
  constructor(defer: (fn: () => void) => void = (fn) => void setImmediate(fn)) {
    this.defer = defer;
  }

  /** Writers waiting for the next flush. */
  get waiting(): number {
    return this.dirty.length;
  }

  /** Registers a writer for the next flush (called by the writer on its first frame of a tick). */
  schedule(writer: SocketWriter): void {
    this.dirty.push(writer);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(this.run);
    }
  }

  /** Flushes every registered writer now. */
  flushAll(): void {
    this.scheduled = false;
    const list = this.dirty;
    this.dirty = this.spare;
    for (let i = 0; i < list.length; i++) list[i]!.flush();
    list.length = 0;
    this.spare = list;
  }
}

/** Told when a writer's reader falls behind (the gateway's sessions implement it: no closure per socket). */
export interface OverflowSink {
  /** More than the limit is pending; the writer has stopped. */
  onOverflow(pendingBytes: number): void;
}

/**
 * Gathers the frames written to one socket during a tick and hands them to the socket in one
 * write at the end of the tick (5-6× the throughput of one write per frame). Tracks the bytes
 * not yet sent to the peer and reports a reader that falls behind by more than `maxPendingBytes`.
 */
export class SocketWriter {
  private readonly socket: WritableSocket;
  private readonly scheduler: WriteScheduler;
  private readonly maxPendingBytes: number;
  private readonly overflow: OverflowSink;
  /**
   * The first frame of this tick, and the others in `rest`: a fan-out queues one frame per
   * socket per message, so the usual flush allocates no array (the profile of a 10,000-member
   * broadcast showed one array per member per message).
   */
  private head: Buffer | null = null;
  private rest: Buffer[] | null = null;
  private queuedBytes = 0;
  private scheduled = false;
  private stopped = false;

  /** `onOverflow` is called once when more than `maxPendingBytes` are pending (a function or an OverflowSink). */
  constructor(socket: WritableSocket, scheduler: WriteScheduler, maxPendingBytes: number, onOverflow: OverflowSink | ((pendingBytes: number) => void)) {
    this.socket = socket;
    this.scheduler = scheduler;
    this.maxPendingBytes = maxPendingBytes;
    this.overflow = typeof onOverflow === "function" ? { onOverflow } : onOverflow;
  }

  /** Bytes written but not yet sent: in the socket's buffer plus queued for this tick. */
  get pendingBytes(): number {
    return this.socket.writableLength + this.queuedBytes;
  }

  /** Frames queued for the next flush. */
  get queuedFrames(): number {
    return this.head === null ? 0 : 1 + (this.rest === null ? 0 : this.rest.length);
  }

  /**
   * Queues one complete frame. The same Buffer may be queued to many writers (a push or channel
   * message is encoded once); it must not be modified afterwards. Returns false when the writer
   * is stopped or the reader is too slow (then `onOverflow` has been called, once).
   */
  write(frame: Buffer): boolean {
    if (this.stopped) return false;
    if (this.head === null) this.head = frame;
    else (this.rest ??= []).push(frame);
    this.queuedBytes += frame.length;
    const pending = this.socket.writableLength + this.queuedBytes;
    if (pending > this.maxPendingBytes) {
      this.stopped = true;
      this.head = null;
      this.rest = null;
      this.queuedBytes = 0;
      this.overflow.onOverflow(pending);
      return false;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      this.scheduler.schedule(this);
    }
    return true;
  }

  /** Hands the queued frames to the socket now (also called by the scheduler). */
  flush(): void {
    this.scheduled = false;
    const head = this.head;
    if (head === null) return;
    const rest = this.rest;
    const bytes = this.queuedBytes;
    this.head = null;
    this.rest = null;
    this.queuedBytes = 0;
    const s = this.socket;
    if (s.destroyed) return;
    if (rest === null) {
      s.write(head);
      return;
    }
    rest.unshift(head);
    if (bytes <= CONCAT_LIMIT) {
      s.write(Buffer.concat(rest, bytes));
    } else {
      s.cork();
      for (let i = 0; i < rest.length; i++) s.write(rest[i]!);
      s.uncork();
    }
  }

  /** Writes what is queued and accepts nothing more (before a KICK's close). */
  stop(): void {
    this.flush();
    this.stopped = true;
  }
}
