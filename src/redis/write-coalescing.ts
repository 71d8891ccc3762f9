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
 * Makes the commands a client sends during one turn of the event loop leave in one socket write.
 * ioredis writes each command to its socket at once, one system call per command (on the rank
 * route that was a fifth of the module's CPU); auto-pipelining batches too, but runs one pipeline
 * at a time per connection. This corks the connection's socket on the first command of a turn
 * and uncorks it from `setImmediate`, after the turn's I/O callbacks: the commands keep their
 * order, any number stay in flight, and nothing waits longer than that turn.
 *
 * Every command goes through the client's public `sendCommand` (pipelines and MULTI included),
 * which this wraps, as write tracking does; `redis.stream` is the connection's socket in
 * ioredis' own typings. When the stream is not a corkable socket, commands go out unbatched.
 */
export function coalesceWrites(redis: Redis): void {
  const send = redis.sendCommand.bind(redis) as (command: Command, ...rest: unknown[]) => unknown;
  let held: CorkableStream | null = null;
  const release = (): void => {
    const stream = held;
    held = null;
    if (stream !== null && !stream.destroyed) stream.uncork();
  };
  redis.sendCommand = (command: Command, ...rest: unknown[]): unknown => {
    if (held === null) {
      const stream: unknown = redis.stream;
      if (corkable(stream) && !stream.destroyed) {
        stream.cork();
        held = stream;
        setImmediate(release);
      }
    }
    return send(command, ...rest);
  };
}
