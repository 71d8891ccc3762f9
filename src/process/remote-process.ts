import { EventEmitter } from "node:events";
import type { NatsConnection, NatsError } from "nats";
import { instanceControlSubject } from "../bus/discovery.js";
import { pidAlive } from "./pid-alive.js";
import type { ProcessHandle } from "./process-handle.js";

/** How a RemoteProcess passes a signal on: a drain request, process.kill, or its host agent. */
export type SignalSender = (signal: NodeJS.Signals) => void;

/** What a RemoteProcess watches to notice that its process went away. */
export interface LivenessOptions {
  nc: NatsConnection;
  instanceId: string;
  /** Pid on this machine: checked with signal 0, which notices a kill -9 within one tick. */
  localPid?: number;
  /** How often to look (default 300 ms). */
  intervalMs?: number;
  /**
   * Consecutive "no responders" answers of its status endpoint, after it answered once, that
   * count as gone (default 3; a timeout only counts as a third of one: busy is not dead).
   */
  misses?: number;
}

/**
 * A process the master did not spawn itself (adopted from an earlier master, or run by a host
 * agent), looking like a ChildProcess to the supervisor: `kill` goes through `send`, and "exit"
 * is emitted once `markExited` is called (agent event) or the liveness watch finds it gone.
 * The exit code of a process that is not our child is unknown: it exits with (null, null).
 */
export class RemoteProcess extends EventEmitter implements ProcessHandle {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private ended = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly send: SignalSender;

  constructor(send: SignalSender, pid?: number) {
    super();
    this.send = send;
    this.pid = pid;
  }

  /** True once it exited. */
  get isGone(): boolean {
    return this.ended;
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): boolean {
    if (this.ended) return false;
    this.send(signal);
    return true;
  }

  /** Reports the exit (once); later calls are ignored. */
  markExited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.ended) return;
    this.ended = true;
    // Anything non-null tells the supervisor "already exited"; the real values go in the event.
    this.exitCode = code ?? -1;
    this.signalCode = signal;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.emit("exit", code, signal);
  }

  /** Starts watching the process; it is marked exited when it goes away. */
  watch(opts: LivenessOptions): void {
    if (this.timer || this.ended) return;
    const misses = opts.misses ?? 3;
    let answered = false;
    let missed = 0;
    let busy = false;
    this.timer = setInterval(() => {
      if (busy || this.ended) return;
      if (opts.localPid !== undefined) {
        if (!pidAlive(opts.localPid)) this.markExited(null, null);
        return;
      }
      if (opts.nc.isClosed()) return;
      busy = true;
      opts.nc
        .request(instanceControlSubject(opts.instanceId, "status"), undefined, { timeout: 1_000 })
        .then(
          () => {
            answered = true;
            missed = 0;
          },
          (err: unknown) => {
            if (!answered) return;
            missed += (err as NatsError).code === "503" ? 1 : 1 / 3;
            if (missed >= misses) this.markExited(null, null);
          },
        )
        .finally(() => {
          busy = false;
        });
    }, opts.intervalMs ?? 300);
    this.timer.unref();
  }
}
