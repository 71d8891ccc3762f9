import type { ProcessSlot } from "./process-plan.js";

/**
 * What the master holds of a process it supervises: a ChildProcess it spawned, or a
 * RemoteProcess (adopted from an earlier master, or run by a host agent).
 */
export interface ProcessHandle {
  readonly pid?: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: "exit", listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: "error", listener: (err: Error) => void): unknown;
}

/** Starts the process of a slot with the given instance id. */
export type SpawnProcess = (slot: ProcessSlot, instanceId: string) => ProcessHandle;
