import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { NatsConnection } from "nats";
import { instanceControlSubject } from "../bus/discovery.js";
import { SwitchyardError } from "../protocol/errors.js";
import { isSubjectToken } from "../bus/subjects.js";
import type { ClusterConfig } from "../config/cluster-config.js";
import { findModuleEntry } from "../config/module-entry.js";
import type { Logger } from "../log/logger.js";
import type { RemoteProcesses } from "../agent/agent-client.js";
import { freeSlotIndex, moduleSlot, type SlotPlacement } from "../process/process-plan.js";
import { scaleModule, type ScaleRequest, type ScaleResult } from "./scale.js";
import { NotReadyError, type Supervisor } from "./supervisor.js";

/** Where a module's code comes from: set by `add` and `rollout`, used by `scale`. */
export type ModuleSource = Pick<SlotPlacement, "from" | "proto">;

/** What the add/remove/scale/rollout verbs work with. */
export interface Operations {
  supervisor: Supervisor;
  config: ClusterConfig;
  nc: NatsConnection;
  agents: RemoteProcesses;
  /** Host id of the master (instances placed there are its own children). */
  selfHost: string;
  /** SIGTERM → SIGKILL grace of a module's instances (covers its drainTimeoutMs). */
  graceFor(module: string): number;
  /** Code source per module, when not the config's/dist's. */
  sources: Map<string, ModuleSource>;
  log: Logger;
}

/** Request of the `add` ctl verb. */
export interface AddRequest extends ModuleSource {
  module: string;
  instances: number;
  host?: string;
}

/** Request of the `rollout` ctl verb. */
export interface RolloutRequest extends ModuleSource {
  module: string;
}

/** One instance in a ctl answer. */
export interface InstanceRef {
  key: string;
  instance: string;
  version: string;
  host: string;
}

/** Answer of `add`. */
export interface AddResult {
  module: string;
  started: InstanceRef[];
}

/** Answer of `remove`. */
export interface RemoveResult {
  module: string;
  stopped: InstanceRef[];
}

/** Answer of `rollout`. */
export interface RolloutResult {
  module: string;
  replaced: { old: InstanceRef; new: InstanceRef }[];
  durationMs: number;
}

type Fields<T> = Partial<Record<keyof T, unknown>>;

function parseModule(verb: string, v: unknown): string {
  if (typeof v !== "string" || !/^[a-z][a-z0-9_]*$/.test(v)) {
    throw new SwitchyardError("BAD_REQUEST", `${verb}: module must be a module name (lower-case letters, digits, '_')`);
  }
  return v;
}

function parseSource(verb: string, b: Fields<ModuleSource>): ModuleSource {
  const out: ModuleSource = {};
  for (const k of ["from", "proto"] as const) {
    const v = b[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || !isAbsolute(v)) throw new SwitchyardError("BAD_REQUEST", `${verb}: ${k} must be an absolute file path`);
    out[k] = v;
  }
  return out;
}

/** Checks an `add` request body; throws BAD_REQUEST naming the wrong field. */
export function parseAddRequest(body: unknown): AddRequest {
  const b = (body ?? {}) as Fields<AddRequest>;
  const module = parseModule("add", b.module);
  const instances = b.instances ?? 1;
  if (typeof instances !== "number" || !Number.isInteger(instances) || instances < 1 || instances > 256) {
    throw new SwitchyardError("BAD_REQUEST", "add: instances must be a whole number from 1 to 256");
  }
  if (b.host !== undefined && (typeof b.host !== "string" || !isSubjectToken(b.host))) {
    throw new SwitchyardError("BAD_REQUEST", "add: host must be a host id (letters, digits, '-', '_')");
  }
  return { module, instances, ...parseSource("add", b), ...(b.host !== undefined ? { host: b.host } : {}) };
}

/** Checks a `remove` request body. */
export function parseRemoveRequest(body: unknown): { module: string } {
  return { module: parseModule("remove", ((body ?? {}) as { module?: unknown }).module) };
}

/** Checks a `rollout` request body. */
export function parseRolloutRequest(body: unknown): RolloutRequest {
  const b = (body ?? {}) as Fields<RolloutRequest>;
  return { module: parseModule("rollout", b.module), ...parseSource("rollout", b) };
}

/**
 * Places new instances: on the master's host (no host, or its own id), or on a host agent
 * that must answer now. Checks that the code exists when it runs here.
 */
async function placement(ops: Operations, verb: string, module: string, source: ModuleSource, host: string | undefined): Promise<SlotPlacement> {
  const remote = host !== undefined && host !== ops.selfHost;
  if (remote && (await ops.agents.list(host)) === null) {
    throw new SwitchyardError("UNAVAILABLE", `${verb} ${module}: no agent answers for host "${host}": start one there with \`npx switchyard agent --nats URL --host-id ${host}\``);
  }
  if (!remote) {
    const code = findModuleEntry(module, ops.config, source.from);
    if (code.file === null) {
      throw new SwitchyardError("NOT_FOUND", `${verb} ${module}: no module code at ${code.tried.join(" or ")}: pass --from FILE (a JS file whose default export is defineModule({...})), or build it with \`npm run build\``);
    }
    if (source.proto !== undefined && !existsSync(source.proto)) throw new SwitchyardError("NOT_FOUND", `${verb} ${module}: no proto file at ${source.proto}`);
  }
  return { ...source, ...(remote ? { host } : {}) };
}

/** Identity of a running instance, as it reports itself. */
async function describe(ops: Operations, key: string): Promise<InstanceRef> {
  const instance = ops.supervisor.instanceOf(key);
  const host = ops.supervisor.slot(key)?.host ?? ops.selfHost;
  try {
    const msg = await ops.nc.request(instanceControlSubject(instance, "status"), undefined, { timeout: 1_000 });
    const s = JSON.parse(new TextDecoder().decode(msg.data)) as { version?: string; host?: string };
    return { key, instance, version: s.version ?? "?", host: s.host ?? host };
  } catch {
    return { key, instance, version: "?", host };
  }
}

function notReady(verb: string, module: string, err: unknown, undone: string): never {
  if (err instanceof NotReadyError) throw new SwitchyardError("TIMEOUT", `${verb} ${module}: ${err.message} ${undone}`);
  throw err;
}

/**
 * `add`: starts a module type this master does not run yet and waits until every new instance
 * answers. When they do not, they are stopped again and the error says why.
 */
export async function addModule(ops: Operations, req: AddRequest): Promise<AddResult> {
  const existing = ops.supervisor.moduleKeys(req.module);
  if (existing.length > 0) {
    throw new SwitchyardError("CONFLICT", `add ${req.module}: it already runs (${existing.join(", ")}): use \`ctl scale ${req.module} N\` or \`ctl rollout ${req.module} --from FILE\``);
  }
  const source: ModuleSource = { ...(req.from ? { from: req.from } : {}), ...(req.proto ? { proto: req.proto } : {}) };
  const place = await placement(ops, "add", req.module, source, req.host);
  const started: string[] = [];
  const taken = new Set(ops.supervisor.keys());
  for (let n = 0; n < req.instances; n++) {
    const slot = moduleSlot(req.module, freeSlotIndex(req.module, taken), place);
    taken.add(slot.key);
    ops.supervisor.add(slot);
    started.push(slot.key);
  }
  try {
    await ops.supervisor.waitReady(ops.config.master.readyTimeoutMs, started);
  } catch (err) {
    await Promise.all(started.map((k) => ops.supervisor.remove(k, ops.graceFor(req.module))));
    notReady("add", req.module, err, "The new instances were stopped again.");
  }
  ops.sources.set(req.module, source);
  ops.log.info({ module: req.module, started, source }, "module added");
  return { module: req.module, started: await Promise.all(started.map((k) => describe(ops, k))) };
}

/** `scale`: scaleModule with the module's code source and the requested host. */
export async function scaleWithPlacement(ops: Operations, req: ScaleRequest): Promise<ScaleResult> {
  const source = ops.sources.get(req.module) ?? {};
  const place = req.instances > ops.supervisor.moduleKeys(req.module).length ? await placement(ops, "scale", req.module, source, req.host) : source;
  try {
    return await scaleModule(ops.supervisor, req, ops.graceFor(req.module), ops.config.master.readyTimeoutMs, place);
  } catch (err) {
    notReady("scale", req.module, err, "They stay supervised (see `ctl status`); `ctl scale` down removes them.");
  }
}

/** `remove`: drains every instance of a module (in-flight requests finish), then forgets it. */
export async function removeModule(ops: Operations, req: { module: string }): Promise<RemoveResult> {
  const keys = ops.supervisor.moduleKeys(req.module);
  if (keys.length === 0) throw new SwitchyardError("NOT_FOUND", `remove ${req.module}: this master runs no instance of it (see \`ctl status\`)`);
  const stopped = await Promise.all(keys.map((k) => describe(ops, k)));
  await Promise.all(keys.map((k) => ops.supervisor.remove(k, ops.graceFor(req.module))));
  ops.sources.delete(req.module);
  ops.log.info({ module: req.module, stopped: keys }, "module removed");
  return { module: req.module, stopped };
}

/**
 * `rollout`: for each instance of the module, starts one with the new code in the same queue
 * group, waits until it answers, then drains the old one (it leaves the queue group first, so
 * no new request reaches it, and finishes what it holds; a stateful one keeps serving its rooms
 * until `drained()` or drainTimeoutMs). The next replacement does not wait for the old one to
 * exit; the answer comes once every old instance exited. A new instance that does not answer
 * stops the rollout with the old ones still serving.
 */
export async function rolloutModule(ops: Operations, req: RolloutRequest): Promise<RolloutResult> {
  const began = Date.now();
  const old = ops.supervisor.moduleKeys(req.module);
  if (old.length === 0) {
    throw new SwitchyardError("NOT_FOUND", `rollout ${req.module}: this master runs no instance of it: start it with \`ctl add ${req.module}\``);
  }
  const current = ops.sources.get(req.module) ?? {};
  const source: ModuleSource = req.from !== undefined ? { from: req.from, ...(req.proto ? { proto: req.proto } : {}) } : { ...current, ...(req.proto ? { proto: req.proto } : {}) };
  const replaced: RolloutResult["replaced"] = [];
  const draining: Promise<void>[] = [];
  for (const [i, key] of old.entries()) {
    const oldRef = await describe(ops, key);
    const host = ops.supervisor.slot(key)?.host;
    const place = await placement(ops, "rollout", req.module, source, host);
    const slot = moduleSlot(req.module, freeSlotIndex(req.module, new Set(ops.supervisor.keys())), place);
    ops.supervisor.add(slot);
    try {
      await ops.supervisor.waitReady(ops.config.master.readyTimeoutMs, [slot.key]);
    } catch (err) {
      await ops.supervisor.remove(slot.key, ops.graceFor(req.module));
      await Promise.all(draining);
      notReady("rollout", req.module, err, `Rollout stopped after ${i} of ${old.length} instances; ${old.slice(i).join(", ")} keep serving the old code.`);
    }
    const newRef = await describe(ops, slot.key);
    ops.log.info({ module: req.module, old: oldRef.instance, new: newRef.instance, version: newRef.version }, "rollout: new instance answers; draining the old one");
    draining.push(ops.supervisor.remove(key, ops.graceFor(req.module)));
    replaced.push({ old: oldRef, new: newRef });
  }
  await Promise.all(draining);
  ops.sources.set(req.module, source);
  return { module: req.module, replaced, durationMs: Date.now() - began };
}
