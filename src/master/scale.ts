import { SwitchyardError } from "../protocol/errors.js";
import { isSubjectToken } from "../bus/subjects.js";
import { moduleSlot, type SlotPlacement } from "../process/process-plan.js";
import type { Supervisor } from "./supervisor.js";

/** Request of the `scale` ctl verb. */
export interface ScaleRequest {
  module: string;
  instances: number;
  /** Host id of the agent that runs new instances (default: the master's host). */
  host?: string;
}

/** Answer of the `scale` ctl verb. */
export interface ScaleResult {
  module: string;
  from: number;
  to: number;
  started: string[];
  stopped: string[];
}

/** Checks a `scale` request body; throws BAD_REQUEST naming the wrong field. */
export function parseScaleRequest(body: unknown): ScaleRequest {
  const b = (body ?? {}) as Partial<Record<keyof ScaleRequest, unknown>>;
  if (typeof b.module !== "string" || !/^[a-z][a-z0-9_]*$/.test(b.module)) {
    throw new SwitchyardError("BAD_REQUEST", "scale: module must be a module name (lower-case letters, digits, '_')");
  }
  if (typeof b.instances !== "number" || !Number.isInteger(b.instances) || b.instances < 0 || b.instances > 256) {
    throw new SwitchyardError("BAD_REQUEST", "scale: instances must be a whole number from 0 to 256");
  }
  if (b.host !== undefined && (typeof b.host !== "string" || !isSubjectToken(b.host))) {
    throw new SwitchyardError("BAD_REQUEST", "scale: host must be a host id (letters, digits, '-', '_')");
  }
  return { module: b.module, instances: b.instances, ...(b.host !== undefined ? { host: b.host } : {}) };
}

/**
 * Sets the number of instances of a module: new slots take the lowest free indices and are
 * awaited until they answer; surplus slots (highest indices first) drain and exit. A module the
 * config does not list is added this way (its code must be built under dist/modules/<name>).
 * New slots get `placement` (code file and host).
 */
export async function scaleModule(supervisor: Supervisor, req: ScaleRequest, graceMs: number, readyTimeoutMs: number, placement: SlotPlacement = {}): Promise<ScaleResult> {
  const keys = supervisor.moduleKeys(req.module);
  const from = keys.length;
  const started: string[] = [];
  const stopped: string[] = [];
  if (req.instances > from) {
    const taken = new Set(keys);
    for (let i = 0; started.length < req.instances - from; i++) {
      const slot = moduleSlot(req.module, i, placement);
      if (taken.has(slot.key)) continue;
      supervisor.add(slot);
      started.push(slot.key);
    }
    await supervisor.waitReady(readyTimeoutMs, started);
  } else if (req.instances < from) {
    const index = (key: string): number => Number(key.slice(key.lastIndexOf("/") + 1));
    const surplus = [...keys].sort((a, b) => index(b) - index(a)).slice(0, from - req.instances);
    await Promise.all(surplus.map((key) => supervisor.remove(key, graceMs)));
    stopped.push(...surplus);
  }
  return { module: req.module, from, to: req.instances, started, stopped };
}
