import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { frameworkRoot, type ClusterConfig } from "../config/cluster-config.js";
import { dialableHost } from "./ports.js";

/** What kind of process a slot holds. */
export const ProcessKind = {
  gateway: "gateway",
  module: "module",
} as const;
export type ProcessKind = (typeof ProcessKind)[keyof typeof ProcessKind];

/**
 * One process the master keeps running. The slot is stable across restarts; the instance id
 * of a module changes with every spawn (a new process is a new instance), a gateway's is its id.
 */
export interface ProcessSlot {
  /** Stable key, e.g. "gateway/gw-1" or "login/0". */
  key: string;
  kind: ProcessKind;
  /** Module name; "gateway" for gateways. */
  module: string;
  /** Gateway id (gateways only). */
  gatewayId?: string;
  /** The config's gateways[] entry (ports, TLS) when it is not `gatewayId` (a rolled-out replacement). */
  endpoint?: string;
  /** Gateway whose ports this one takes over when it starts (`ctl rollout gateway`). */
  takePortsFrom?: string;
  /** Where clients connect (gateways only). */
  listen?: { host: string; port: number };
  /** Module code file (hot-added or rolled-out code); default: resolveModuleEntry (entry, project, standard). */
  from?: string;
  /** Extra .proto file of a hot-added module (default: <name>.proto next to `from`, if any). */
  proto?: string;
  /** Host id of the agent that runs it; absent: the master's own host. */
  host?: string;
}

/** The processes a config asks for: every gateway, then every module instance, in config order. */
export function planProcesses(cfg: ClusterConfig): ProcessSlot[] {
  const slots: ProcessSlot[] = [];
  for (const g of cfg.gateways) {
    slots.push({ key: `gateway/${g.id}`, kind: ProcessKind.gateway, module: "gateway", gatewayId: g.id, listen: { host: g.host, port: g.port } });
  }
  for (const [name, m] of Object.entries(cfg.modules)) {
    for (let i = 0; i < m.instances; i++) slots.push(moduleSlot(name, i));
  }
  return slots;
}

/** Where a module's code comes from and where it runs: the optional parts of a module slot. */
export type SlotPlacement = Pick<ProcessSlot, "from" | "proto" | "host">;

/** The slot of the `index`-th instance of module `name`. */
export function moduleSlot(name: string, index: number, placement: SlotPlacement = {}): ProcessSlot {
  const slot: ProcessSlot = { key: `${name}/${index}`, kind: ProcessKind.module, module: name };
  if (placement.from !== undefined) slot.from = placement.from;
  if (placement.proto !== undefined) slot.proto = placement.proto;
  if (placement.host !== undefined) slot.host = placement.host;
  return slot;
}

/** The lowest index `i` whose key "<module>/<i>" is not in `taken`. */
export function freeSlotIndex(module: string, taken: ReadonlySet<string>): number {
  let i = 0;
  while (taken.has(`${module}/${i}`)) i++;
  return i;
}

/**
 * Reads back a slot a process announced ($SWITCHYARD_SLOT, JSON); null when it is not one
 * (an instance started by hand, or garbage).
 */
export function parseAnnouncedSlot(text: string | undefined): ProcessSlot | null {
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (raw === null || typeof raw !== "object") return null;
  const r = raw as Partial<Record<keyof ProcessSlot, unknown>>;
  if (typeof r.key !== "string" || typeof r.module !== "string" || (r.kind !== ProcessKind.gateway && r.kind !== ProcessKind.module)) return null;
  const slot: ProcessSlot = { key: r.key, kind: r.kind, module: r.module };
  if (typeof r.gatewayId === "string") slot.gatewayId = r.gatewayId;
  if (typeof r.endpoint === "string") slot.endpoint = r.endpoint;
  if (typeof r.takePortsFrom === "string") slot.takePortsFrom = r.takePortsFrom;
  const l = r.listen as { host?: unknown; port?: unknown } | undefined;
  if (l && typeof l.host === "string" && typeof l.port === "number") slot.listen = { host: l.host, port: l.port };
  if (typeof r.from === "string") slot.from = r.from;
  if (typeof r.proto === "string") slot.proto = r.proto;
  if (typeof r.host === "string") slot.host = r.host;
  if (slot.kind === ProcessKind.gateway && slot.gatewayId === undefined) return null;
  return slot;
}

/** A fresh instance id for a module, "<name>-<4 hex>", not in `taken`. */
export function newInstanceId(module: string, taken: ReadonlySet<string> = new Set()): string {
  for (;;) {
    const id = `${module}-${randomBytes(2).toString("hex")}`;
    if (!taken.has(id)) return id;
  }
}

/** The instance id a slot's next process gets. */
export function instanceIdFor(slot: ProcessSlot, taken: ReadonlySet<string> = new Set()): string {
  return slot.kind === ProcessKind.gateway ? slot.gatewayId! : newInstanceId(slot.module, taken);
}

/** The `switchyard` entry point that master and agents start children with: the framework's bin. */
export function switchyardBin(): string {
  return join(frameworkRoot(), "bin", "switchyard.js");
}

/** Arguments of `bin/switchyard.js` that start a slot's process (without --config: the child's default). */
export function commandArgs(slot: ProcessSlot, instanceId: string, configPath: string | undefined): string[] {
  const config = configPath === undefined ? [] : ["--config", configPath];
  if (slot.kind === ProcessKind.gateway) {
    const args = ["gateway", "--id", slot.gatewayId!, ...config];
    if (slot.endpoint !== undefined) args.push("--endpoint", slot.endpoint);
    if (slot.takePortsFrom !== undefined) args.push("--take-ports-from", slot.takePortsFrom);
    return args;
  }
  const args = ["module", slot.module, "--instance", instanceId, ...config];
  if (slot.from !== undefined) args.push("--from", slot.from);
  if (slot.proto !== undefined) args.push("--proto", slot.proto);
  return args;
}

/**
 * V8's semi-space (half of the young generation) of every gateway and module process, in MiB.
 * At thousands of requests in flight a request's objects outlive the default 16 MiB and are
 * promoted, so the old generation fills and its collections dominate: the rank route at
 * 100 × 16 spent 40-44 µs of module CPU per request with the default and 30 µs with 64 MiB
 * (README → Performance). The space grows only as a process allocates: an idle one stays small.
 */
export const CHILD_SEMI_SPACE_MIB = 64;

/**
 * NODE_OPTIONS for a gateway or module process: `env`'s own, plus the semi-space size unless
 * they already choose one (an operator sets `--max-semi-space-size` in NODE_OPTIONS to override).
 */
export function childNodeOptions(env: NodeJS.ProcessEnv): string {
  const own = env.NODE_OPTIONS?.trim() ?? "";
  if (/--max-semi-space-size\b/.test(own)) return own;
  return `${own} --max-semi-space-size=${CHILD_SEMI_SPACE_MIB}`.trim();
}

/** Address to print for a gateway: a wildcard bind is reachable on loopback. */
export function displayAddress(listen: { host: string; port: number }): string {
  const host = dialableHost(listen.host);
  return `${host.includes(":") ? `[${host}]` : host}:${listen.port}`;
}

/** How the line `switchyard start` prints when every process answers begins. */
export const READY_PREFIX = "switchyard ready:";

/** The one line `switchyard start` prints when every process answers. */
export function readyLine(slots: readonly ProcessSlot[]): string {
  const gateways = slots.filter((s) => s.kind === ProcessKind.gateway && s.listen);
  const where = gateways.map((s) => `gateway ${s.gatewayId} at ${displayAddress(s.listen!)}`).join(", ");
  const n = slots.length;
  return `${READY_PREFIX} ${where || "no gateway"} (${n} instance${n === 1 ? "" : "s"})`;
}
