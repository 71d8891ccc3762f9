import type { Logger } from "../log/logger.js";
import { CrashHistory, type RestartPolicy } from "./backoff.js";
import type { ProcessHandle, SpawnProcess } from "../process/process-handle.js";
import type { ProcessSlot } from "../process/process-plan.js";
import { ProcessState, type ExitInfo, type SupervisedStatus } from "./status.js";

/** What a supervised slot needs from its supervisor. */
export interface SlotDeps {
  policy: RestartPolicy;
  spawn: SpawnProcess;
  /** Picks the instance id of the next process. */
  nextInstanceId: (slot: ProcessSlot) => string;
  log: Logger;
}

/**
 * One slot the master keeps filled: spawns its process, restarts it with backoff when it exits
 * unexpectedly, flags crash loops, and stops it (SIGTERM, then SIGKILL after a grace period).
 */
export class SupervisedProcess {
  readonly slot: ProcessSlot;
  private readonly deps: SlotDeps;
  private readonly crashes: CrashHistory;
  private child: ProcessHandle | null = null;
  private adopted = false;
  private instance = "";
  private state: ProcessState = ProcessState.stopped;
  private startedAt = 0;
  private restarts = 0;
  private lastExit: ExitInfo | null = null;
  private nextStartAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private exited: (() => void) | null = null;

  constructor(slot: ProcessSlot, deps: SlotDeps) {
    this.slot = slot;
    this.deps = deps;
    this.crashes = new CrashHistory(deps.policy);
  }

  /** Instance id of the current (or last) process. */
  get instanceId(): string {
    return this.instance;
  }

  /** Pid of the running process, or null. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Where the slot is in its life (starting, ready, backoff …). */
  get currentState(): ProcessState {
    return this.state;
  }

  /** Spawns the process (no-op once stopping or already running). */
  start(): void {
    if (this.stopping || this.child) return;
    this.spawnNow();
  }

  /**
   * Takes over a process that already runs (started by an earlier master): no spawn, the slot
   * is ready at once and is restarted like any other when that process goes away.
   */
  adopt(handle: ProcessHandle, instanceId: string, startedAt: number): void {
    if (this.stopping || this.child) return;
    this.instance = instanceId;
    this.startedAt = startedAt;
    this.state = ProcessState.ready;
    this.adopted = true;
    this.attach(handle);
    this.deps.log.info({ slot: this.slot.key, childInstance: instanceId, childPid: handle.pid }, "process adopted");
  }

  /** Called when the process answered its status request with state "ready". */
  markReady(instanceId: string): void {
    if (instanceId === this.instance && this.state === ProcessState.starting) {
      this.state = ProcessState.ready;
      this.deps.log.info({ slot: this.slot.key, childInstance: this.instance, childPid: this.pid }, "process ready");
    }
  }

  /**
   * Sends `signal` (SIGTERM: drain fully; SIGINT: stop without waiting for stateful work), then
   * SIGKILL after `graceMs`. Never restarts it afterwards. Returns the same promise on every call.
   */
  stop(graceMs: number, signal: "SIGTERM" | "SIGINT" = "SIGTERM"): Promise<void> {
    this.stopping ??= this.stopNow(graceMs, signal);
    return this.stopping;
  }

  /** SIGKILL the current process at once (second Ctrl-C). */
  kill(): void {
    this.child?.kill("SIGKILL");
  }

  /** The slot as `sys.master.status` reports it. */
  snapshot(now = Date.now()): SupervisedStatus {
    const recentCrashes = this.crashes.recent(now);
    return {
      key: this.slot.key,
      kind: this.slot.kind,
      module: this.slot.module,
      instance: this.instance,
      pid: this.pid,
      state: this.state,
      startedAt: this.startedAt,
      restarts: this.restarts,
      recentCrashes,
      crashLooping: recentCrashes > this.deps.policy.crashLoopCount,
      lastExit: this.lastExit,
      nextStartAt: this.nextStartAt,
      host: this.slot.host ?? null,
      adopted: this.adopted,
    };
  }

  private spawnNow(): void {
    this.timer = null;
    this.nextStartAt = null;
    this.instance = this.deps.nextInstanceId(this.slot);
    this.startedAt = Date.now();
    this.state = ProcessState.starting;
    this.adopted = false;
    let child: ProcessHandle;
    try {
      child = this.deps.spawn(this.slot, this.instance);
    } catch (err) {
      this.deps.log.error({ slot: this.slot.key, err }, "cannot spawn process");
      this.onExit(null, null);
      return;
    }
    this.attach(child);
    this.deps.log.info({ slot: this.slot.key, childInstance: this.instance, childPid: child.pid, host: this.slot.host }, "process spawned");
  }

  private attach(child: ProcessHandle): void {
    this.child = child;
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      if (this.child === child) this.child = null;
      this.onExit(code, signal);
    };
    child.once("exit", finish);
    // 'error' without 'exit' happens when the spawn itself failed.
    child.once("error", (err) => {
      this.deps.log.error({ slot: this.slot.key, childInstance: this.instance, err }, "process error");
      if (child.pid === undefined) finish(null, null);
    });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const now = Date.now();
    this.lastExit = { code, signal, at: now };
    const wake = this.exited;
    this.exited = null;
    if (this.stopping) {
      this.state = ProcessState.stopped;
      wake?.();
      return;
    }
    // An exit the master did not ask for. Exit code 0 (e.g. drained by an operator) restarts
    // at the minimum delay and does not count as a crash.
    const clean = code === 0 && signal === null;
    const decision = clean
      ? { recentCrashes: this.crashes.recent(now), crashLooping: this.crashes.isCrashLooping(now), delayMs: this.deps.policy.restartBackoffMinMs }
      : this.crashes.record(now);
    this.state = ProcessState.backoff;
    this.nextStartAt = now + decision.delayMs;
    const fields = { slot: this.slot.key, childInstance: this.instance, code, signal, restartInMs: decision.delayMs, recentCrashes: decision.recentCrashes };
    if (decision.crashLooping) {
      this.deps.log.error(fields, `process is crash-looping (more than ${this.deps.policy.crashLoopCount} crashes within ${this.deps.policy.crashLoopWindowMs} ms): fix its error (see its log lines above); retrying at the maximum backoff`);
    } else {
      this.deps.log.warn(fields, "process exited unexpectedly; restarting");
    }
    this.restarts++;
    this.timer = setTimeout(() => this.spawnNow(), decision.delayMs);
  }

  private async stopNow(graceMs: number, signal: "SIGTERM" | "SIGINT"): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextStartAt = null;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state = ProcessState.stopped;
      return;
    }
    this.state = ProcessState.stopping;
    const exited = new Promise<void>((resolve) => {
      this.exited = resolve;
    });
    child.kill(signal);
    const killer = setTimeout(() => {
      this.deps.log.warn({ slot: this.slot.key, childInstance: this.instance, childPid: child.pid, graceMs, signal }, "process did not exit in time; sending SIGKILL");
      child.kill("SIGKILL");
    }, graceMs);
    await exited;
    clearTimeout(killer);
  }
}
