import { hostname } from "node:os";
import { RequestStrategy, type NatsConnection, type Service, type ServiceStats } from "nats";
import type { LifecycleState } from "./lifecycle.js";

/** What kind of process an instance is. */
export type InstanceKind = "module" | "gateway";

/** Static identity of a running process, announced through the NATS services API. */
export interface InstanceIdentity {
  kind: InstanceKind;
  /** Module name ("gateway" for gateways). */
  module: string;
  /** Unique in the cluster, usable as a subject token, e.g. "login-3f9a". */
  instance: string;
  /** Semver of the module code. */
  version: string;
  pid: number;
  /** Host id: $SWITCHYARD_HOST_ID (set by a host agent), else the machine's hostname. */
  host: string;
  startedAt: number;
  /**
   * The master slot this process fills (JSON of the slot, set by the master or an agent through
   * $SWITCHYARD_SLOT); absent for instances started by hand. A restarted master adopts the
   * instances that carry one instead of starting duplicates.
   */
  slot?: string;
  /** Gateways: where clients connect to it (announced once it listens). */
  clients?: ClientEndpoints;
}

/** A gateway's client addresses and capacity, as it announces them. */
export interface ClientEndpoints {
  /** "host:port" of the TCP listener. */
  tcp: string;
  /** The WebSocket URL (ws:// or wss://), absent without a WebSocket port. */
  ws?: string;
  /** True when the TCP listener (and the WebSocket port) serve TLS. */
  tls: boolean;
  /** `gateway.maxConnections` of that gateway: holding this many sessions, it is full. */
  maxConnections: number;
}

/** Live figures an instance reports with its identity. */
export interface InstanceLoad {
  state: LifecycleState;
  served: number;
  errors: number;
  inflight: number;
  /** Gateways: sessions held. */
  sessions?: number;
  /** Free-form extras (e.g. rooms held by a game instance). */
  extra?: Record<string, number | string>;
}

/** One instance as `listInstances` reports it. */
export type InstanceStatus = InstanceIdentity & InstanceLoad;

/** Subjects every instance answers on, besides its data subjects. */
export function instanceControlSubject(instance: string, verb: "status" | "drain"): string {
  return `sys.instance.${instance}.${verb}`;
}

const SERVICE_NAME_PREFIX = "sy-";

/** Builds this process's identity. */
export function makeIdentity(kind: InstanceKind, module: string, instance: string, version: string): InstanceIdentity {
  const slot = process.env.SWITCHYARD_SLOT;
  return { kind, module, instance, version, pid: process.pid, host: process.env.SWITCHYARD_HOST_ID || hostname(), startedAt: Date.now(), ...(slot ? { slot } : {}) };
}

/**
 * Registers the process with the NATS services API, so `$SRV.PING|INFO|STATS` (and `nats micro`)
 * list it with its version, and `listInstances` can report its live load. `onDrain` runs when an
 * operator asks this instance to drain (master rollout/scale, `ctl`), even when the master did not
 * spawn it.
 */
export async function announceInstance(
  nc: NatsConnection,
  id: InstanceIdentity,
  load: () => InstanceLoad,
  onDrain: () => void,
): Promise<Service> {
  const service = await nc.services.add({
    name: SERVICE_NAME_PREFIX + id.module,
    version: id.version,
    description: `switchyard ${id.kind} ${id.module}`,
    metadata: {
      kind: id.kind,
      module: id.module,
      instance: id.instance,
      pid: String(id.pid),
      host: id.host,
      startedAt: String(id.startedAt),
      ...(id.slot !== undefined ? { slot: id.slot } : {}),
      ...(id.clients !== undefined ? clientMetadata(id.clients) : {}),
    },
    statsHandler: () => Promise.resolve(load()),
  });
  service.addEndpoint("status", {
    subject: instanceControlSubject(id.instance, "status"),
    queue: "",
    handler: (_err, msg) => {
      msg.respond(JSON.stringify({ ...id, ...load() }));
    },
  });
  service.addEndpoint("drain", {
    subject: instanceControlSubject(id.instance, "drain"),
    queue: "",
    handler: (_err, msg) => {
      msg.respond(JSON.stringify({ ok: true }));
      onDrain();
    },
  });
  return service;
}

/** Asks every Switchyard instance for its identity and load; waits up to `maxWaitMs`. */
export async function listInstances(nc: NatsConnection, maxWaitMs = 750): Promise<InstanceStatus[]> {
  const client = nc.services.client({ strategy: RequestStrategy.Timer, maxWait: maxWaitMs });
  const out: InstanceStatus[] = [];
  try {
    const iter = await client.stats();
    for await (const s of iter) {
      const status = toStatus(s);
      if (status) out.push(status);
    }
  } catch (err) {
    // No responders at all: nothing of the cluster is running, which is an answer, not a failure.
    if ((err as { code?: string }).code === "503") return [];
    throw err;
  }
  out.sort((a, b) => (a.module === b.module ? a.instance.localeCompare(b.instance) : a.module.localeCompare(b.module)));
  return out;
}

function toStatus(s: ServiceStats): InstanceStatus | null {
  if (!s.name.startsWith(SERVICE_NAME_PREFIX)) return null;
  const md = s.metadata ?? {};
  const statusEndpoint = s.endpoints?.find((e) => e.name === "status");
  const load = (statusEndpoint?.data ?? {}) as Partial<InstanceLoad>;
  return {
    kind: (md.kind as InstanceKind) ?? "module",
    module: md.module ?? s.name.slice(SERVICE_NAME_PREFIX.length),
    instance: md.instance ?? s.id,
    version: s.version,
    pid: Number(md.pid ?? 0),
    host: md.host ?? "?",
    startedAt: Number(md.startedAt ?? 0),
    ...(md.slot !== undefined ? { slot: md.slot } : {}),
    ...(md.clientTcp !== undefined ? { clients: clientsFrom(md) } : {}),
    state: load.state ?? "ready",
    served: load.served ?? 0,
    errors: load.errors ?? 0,
    inflight: load.inflight ?? 0,
    ...(load.sessions !== undefined ? { sessions: load.sessions } : {}),
    ...(load.extra !== undefined ? { extra: load.extra } : {}),
  };
}

function clientMetadata(c: ClientEndpoints): Record<string, string> {
  return {
    clientTcp: c.tcp,
    ...(c.ws !== undefined ? { clientWs: c.ws } : {}),
    clientTls: c.tls ? "1" : "0",
    maxConnections: String(c.maxConnections),
  };
}

function clientsFrom(md: Record<string, string>): ClientEndpoints {
  return {
    tcp: md.clientTcp ?? "",
    ...(md.clientWs !== undefined ? { ws: md.clientWs } : {}),
    tls: md.clientTls === "1",
    maxConnections: Number(md.maxConnections ?? Infinity),
  };
}
