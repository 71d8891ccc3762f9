import type { Command, Redis } from "ioredis";

/** The part of a net.Socket this needs; ioredis types `redis.stream` as a net or TLS socket. */
interface CorkableStream {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

function corkable(stream: unknown): stream is CorkableStream {
  const s = stream as Partial<CorkableStream> | null | undefined;
  return typeof s?.cork === "function" && typeof s.uncork === "function";
}

/**
 * One socket write for the Redis commands a module instance sends in one run of synchronous code,
 * instead of one write (one system call) per command: the requests of one NATS read (up to
 * hundreds at 100 × 16) each send a script before their first await, and on this VM the writes
 * were a fifth of the rank module's CPU.
 *
 * The first command of a run corks the connection's socket; a microtask queued then uncorks it,
 * so a command waits only for the end of the run that sent it. The one hazard of holding Redis
 * bytes back is that a message on another connection overtakes them: a handler that sends a
 * write without awaiting it and then answers must not have its answer reach the client before
 * its write reaches Redis. So `flush()` is called before every NATS message the process sends
 * (see hookEverySend in src/bus/nats-internals.ts): Redis bytes always leave before any NATS
 * message issued after them. Without that hook, no batching (`attach` is not called).
 *
 * Every command goes through the client's public `sendCommand` (pipelines and MULTI included),
 * which this wraps, as write tracking does; `redis.stream` is the connection's socket in
 * ioredis' own typings. When it is not a corkable socket, commands go out one by one.
 */
export class RedisWriteBatch {
  private held: CorkableStream | null = null;
  private readonly release = (): void => this.flush();

  /** Batches the writes of `redis` from now on (call it once per client). */
  attach(redis: Redis): void {
    const send = redis.sendCommand.bind(redis) as (command: Command, ...rest: unknown[]) => unknown;
    redis.sendCommand = (command: Command, ...rest: unknown[]): unknown => {
      const stream: unknown = redis.stream;
      if (this.held !== stream) {
        // a new run, or another socket (a reconnect): what is held goes first
        this.flush();
        if (corkable(stream) && !stream.destroyed) {
          stream.cork();
          this.held = stream;
          queueMicrotask(this.release);
        }
      }
      return send(command, ...rest);
    };
  }

  /** Sends what is held now (before a NATS message, see above; at the end of the run otherwise). */
  flush(): void {
    const stream = this.held;
    if (stream === null) return;
    this.held = null;
    if (!stream.destroyed) stream.uncork();
  }
}
