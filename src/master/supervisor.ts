import type { NatsConnection } from "nats";
import { instanceControlSubject } from "../bus/discovery.js";
import type { Logger } from "../log/logger.js";
import type { RestartPolicy } from "./backoff.js";
import type { ProcessHandle, SpawnProcess } from "../process/process-handle.js";
import { SupervisedProcess } from "./instance-process.js";
import { instanceIdFor, type ProcessSlot } from "../process/process-plan.js";
import { ProcessState, type SupervisedStatus } from "./status.js";

/** Everything a supervisor needs. */
export interface SupervisorOptions {
  policy: RestartPolicy;
  spawn: SpawnProcess;
  log: Logger;
  /** Used to ask new processes whether they are ready. */
  nc: NatsConnection;
  /** How often processes that have not answered yet are asked (default 250 ms). */
  probeIntervalMs?: number;
}

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

/** Thrown by `waitReady` when some process did not answer in time. */
export class NotReadyError extends Error {
  override readonly name = "NotReadyError";
  /** The slots that were not ready. */
  readonly pending: SupervisedStatus[];

  constructor(timeoutMs: number, pending: SupervisedStatus[]) {
    super(
      `not ready after ${timeoutMs} ms: ${pending.map(describePending).join("; ")}. ` +
        "Look at their log lines above; raise master.readyTimeoutMs if they are only slow.",
    );
    this.pending = pending;
  }
}

function describePending(s: SupervisedStatus): string {
  const exit = s.lastExit ? `, last exit code ${s.lastExit.code ?? "-"} signal ${s.lastExit.signal ?? "-"}` : "";
  return `${s.key} (${s.instance}) is ${s.crashLooping ? "crash-looping" : s.state}, ${s.restarts} restarts${exit}`;
}

/**
 * Keeps a set of slots running: starts them, notices when a new process answers (through its
 * `sys.instance.<id>.status` endpoint), and stops them all in one go. Slots can be added and
 * removed while it runs (scale, add and remove build on that).
 */
export class Supervisor {
  private readonly opts: SupervisorOptions;
  private readonly slots = new Map<string, SupervisedProcess>();
  private readonly probe: NodeJS.Timeout;
  private probing = false;
  private readyWaiters: Waiter[] = [];
  private closed = false;

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
    this.probe = setInterval(() => void this.probeOnce(), opts.probeIntervalMs ?? 250);
    this.probe.unref();
  }

  /** Adds a slot and starts its process. Throws when the key is taken. */
  add(slot: ProcessSlot): void {
    this.create(slot).start();
  }

  /**
   * Adds a slot filled by a process that already runs (an earlier master started it): it is
   * ready at once, and respawned like any other when it goes away. Throws when the key is taken.
   */
  adopt(slot: ProcessSlot, handle: ProcessHandle, instanceId: string, startedAt: number): void {
    this.create(slot).adopt(handle, instanceId, startedAt);
  }

  /** The slot under `key`, or undefined. */
  slot(key: string): ProcessSlot | undefined {
    return this.slots.get(key)?.slot;
  }

  /** Instance id of the current process of slot `key` ("" before the first spawn). */
  instanceOf(key: string): string {
    return this.slots.get(key)?.instanceId ?? "";
  }

  /** Every slot, in insertion order. */
  allSlots(): ProcessSlot[] {
    return [...this.slots.values()].map((p) => p.slot);
  }

  private create(slot: ProcessSlot): SupervisedProcess {
    if (this.closed) throw new Error("the supervisor is stopping");
    if (this.slots.has(slot.key)) throw new Error(`slot ${slot.key} already exists`);
    const proc = new SupervisedProcess(slot, {
      policy: this.opts.policy,
      spawn: this.opts.spawn,
      log: this.opts.log,
      nextInstanceId: (s) => instanceIdFor(s, this.instanceIds()),
    });
    this.slots.set(slot.key, proc);
    return proc;
  }

  /** Stops one slot's process and forgets the slot. */
  async remove(key: string, graceMs: number): Promise<void> {
    const proc = this.slots.get(key);
    if (!proc) throw new Error(`no slot ${key}`);
    await proc.stop(graceMs);
    this.slots.delete(key);
  }

  /** Keys of every slot, in insertion order. */
  keys(): string[] {
    return [...this.slots.keys()];
  }

  /** Keys of the slots of one module. */
  moduleKeys(module: string): string[] {
    return [...this.slots.values()].filter((p) => p.slot.kind === "module" && p.slot.module === module).map((p) => p.slot.key);
  }

  /** Every slot as the master reports it. */
  snapshot(): SupervisedStatus[] {
    const now = Date.now();
    return [...this.slots.values()].map((p) => p.snapshot(now));
  }

  /**
   * Resolves when the current process of every slot (or of the slots in `keys`) answered ready;
   * rejects with NotReadyError after `timeoutMs`.
   */
  async waitReady(timeoutMs: number, keys?: readonly string[]): Promise<void> {
    const check = (): boolean => this.allReady(keys);
    if (check()) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: Waiter | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = { check, resolve };
        this.readyWaiters.push(waiter);
        timer = setTimeout(() => {
          const pending = this.snapshot().filter((s) => (keys === undefined || keys.includes(s.key)) && s.state !== ProcessState.ready);
          reject(new NotReadyError(timeoutMs, pending));
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
    }
  }

  /**
   * Stops every process for good (the whole cluster stops): SIGINT, so stateful instances finish
   * their in-flight requests without waiting for their rooms to end; SIGKILL after `graceMs`.
   */
  async stopAll(graceMs: number): Promise<void> {
    this.closed = true;
    clearInterval(this.probe);
    await Promise.all([...this.slots.values()].map((p) => p.stop(graceMs, "SIGINT")));
  }

  /** SIGKILL every process at once. */
  killAll(): void {
    for (const p of this.slots.values()) p.kill();
  }

  private instanceIds(): Set<string> {
    return new Set([...this.slots.values()].map((p) => p.instanceId));
  }

  private allReady(keys?: readonly string[]): boolean {
    for (const [key, p] of this.slots) {
      if ((keys === undefined || keys.includes(key)) && p.currentState !== ProcessState.ready) return false;
    }
    return true;
  }

  /** Asks every process that has not answered yet for its status. */
  private async probeOnce(): Promise<void> {
    if (this.probing || this.closed || this.opts.nc.isClosed()) return;
    this.probing = true;
    try {
      const starting = [...this.slots.values()].filter((p) => p.currentState === ProcessState.starting);
      await Promise.all(
        starting.map(async (p) => {
          const id = p.instanceId;
          try {
            const msg = await this.opts.nc.request(instanceControlSubject(id, "status"), undefined, { timeout: 500 });
            const body = JSON.parse(new TextDecoder().decode(msg.data)) as { state?: unknown };
            if (body.state === "ready") p.markReady(id);
          } catch {
            // not listening yet (no responders) or slow: asked again on the next tick
          }
        }),
      );
      for (const w of this.readyWaiters.filter((w) => w.check())) w.resolve();
    } finally {
      this.probing = false;
    }
  }
}
