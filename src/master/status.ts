import type { ProcessKind } from "../process/process-plan.js";

/** Where a supervised slot is in its life. */
export const ProcessState = {
  /** Spawned, has not answered its status request yet. */
  starting: "starting",
  /** Answered with state "ready". */
  ready: "ready",
  /** Exited unexpectedly; waiting for the backoff before the next start. */
  backoff: "backoff",
  /** SIGTERM sent, waiting for it to drain and exit. */
  stopping: "stopping",
  stopped: "stopped",
} as const;
export type ProcessState = (typeof ProcessState)[keyof typeof ProcessState];

/** How the last process of a slot ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: number;
}

/** One supervised slot as the master reports it (`sys.master.status`). */
export interface SupervisedStatus {
  key: string;
  kind: ProcessKind;
  module: string;
  /** Instance id of the current (or last) process. */
  instance: string;
  /** Pid of the current process; null while none runs. */
  pid: number | null;
  state: ProcessState;
  /** When the current process was spawned (ms since epoch). */
  startedAt: number;
  /** Times the slot was started again after its process exited. */
  restarts: number;
  /** Crashes within the crash-loop window. */
  recentCrashes: number;
  crashLooping: boolean;
  lastExit: ExitInfo | null;
  /** Next start (ms since epoch) while in backoff. */
  nextStartAt: number | null;
  /** Host id of the agent running it; null: the master's host. */
  host: string | null;
  /** True when this master took the process over from an earlier master instead of spawning it. */
  adopted: boolean;
}

/** Reply of `sys.master.status`. */
export interface MasterStatus {
  pid: number;
  host: string;
  startedAt: number;
  uptimeMs: number;
  configPath: string;
  natsUrl: string;
  /** URL of the console and `/metrics` ("http://host:port/"), null when master.httpPort is -1 or taken. */
  http: string | null;
  /** Servers this master started itself (and stops on a clean shutdown). */
  embedded: { name: string; pid: number; address: string }[];
  processes: SupervisedStatus[];
}
