/**
 * The subject scheme: the only "routing table" the cluster has. A route "<module>.<Method>"
 * is served by every instance of <module> in queue group <module>; stateful work can be pinned
 * to one instance through its own subject.
 */

/** Prefixes of every subject the framework uses, spelled once. */
export const SubjectPrefix = {
  service: "svc",
  instance: "inst",
  gateway: "gw",
  channel: "chan",
  system: "sys",
  /** Trusted calls (module to module, operator to module): gateways may not publish here. */
  trusted: "mod",
} as const;
export type SubjectPrefix = (typeof SubjectPrefix)[keyof typeof SubjectPrefix];

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** True when `s` can be used as one subject token (no dots, wildcards or spaces). */
export function isSubjectToken(s: string): boolean {
  return TOKEN.test(s);
}

/** Splits "login.Login" into module "login" and method "Login"; null when not of that shape. */
export function parseRoute(route: string): { module: string; method: string } | null {
  const dot = route.indexOf(".");
  if (dot <= 0 || dot !== route.lastIndexOf(".") || dot === route.length - 1) return null;
  const module = route.slice(0, dot);
  const method = route.slice(dot + 1);
  if (!isSubjectToken(module) || !isSubjectToken(method)) return null;
  return { module, method };
}

/** Subject served by the queue group of a module: any instance may answer. */
export function serviceSubject(module: string, method: string): string {
  return `${SubjectPrefix.service}.${module}.${method}`;
}

/** Wildcard a module instance subscribes to (in queue group `module`). */
export function serviceWildcard(module: string): string {
  return `${SubjectPrefix.service}.${module}.*`;
}

/** Subject of one method on one pinned instance (stateful work such as a game room). */
export function instanceSubject(instanceId: string, method: string): string {
  return `${SubjectPrefix.instance}.${instanceId}.${method}`;
}

/** Wildcard an instance subscribes to for pinned requests. */
export function instanceWildcard(instanceId: string): string {
  return `${SubjectPrefix.instance}.${instanceId}.*`;
}

/**
 * Trusted counterpart of {@link serviceSubject}: module-to-module and operator calls. The host
 * believes the caller header only on these subjects, and NATS permissions keep gateways off them.
 */
export function trustedServiceSubject(module: string, method: string): string {
  return `${SubjectPrefix.trusted}.${SubjectPrefix.service}.${module}.${method}`;
}

/** Trusted counterpart of {@link instanceSubject}. */
export function trustedInstanceSubject(instanceId: string, method: string): string {
  return `${SubjectPrefix.trusted}.${SubjectPrefix.instance}.${instanceId}.${method}`;
}

/** True when a subject is a trusted call subject (`mod.…`). */
export function isTrustedSubject(subject: string): boolean {
  return subject.startsWith(`${SubjectPrefix.trusted}.`);
}

/** Commands to one gateway: kick, push, channel join/leave (bind has its own subject). */
export function gatewayCommandSubject(gatewayId: string): string {
  return `${SubjectPrefix.gateway}.${gatewayId}.cmd`;
}

/** Session binds on one gateway: a subject of its own, which only auth modules may publish. */
export function gatewayBindSubject(gatewayId: string): string {
  return `${SubjectPrefix.gateway}.${gatewayId}.bind`;
}

/** Reply inbox prefix of a requester (gateway or module); replies go to `<prefix>.<token>`. */
export function replyPrefix(ownerId: string): string {
  return `_SY.${ownerId}`;
}

/**
 * Reply subject of a module's fire-and-forget pushes to one gateway (`_SY.<owner>.<gatewayId>.lost`):
 * nobody answers it, but nats-server sends "no responders" there when the gateway is gone, so the
 * module learns that pushes to its sessions were lost (see OnlineTable.markLost).
 */
export function lostProbeSubject(ownerId: string, gatewayId: string): string {
  return `${replyPrefix(ownerId)}.${gatewayId}.lost`;
}

/** What a module subscribes to hear the "no responders" of its {@link lostProbeSubject}s. */
export function lostProbeWildcard(ownerId: string): string {
  return `${replyPrefix(ownerId)}.*.lost`;
}

/** True for a {@link lostProbeSubject} (a ReplyMux reply subject ends in a number instead). */
export function isLostProbe(reply: string): boolean {
  return reply.endsWith(".lost");
}

/** Broadcast subject of a channel; every gateway with a local member subscribes. */
export function channelSubject(channel: string): string {
  return `${SubjectPrefix.channel}.${channel}`;
}

/** Cluster-wide events. */
export const SystemSubject = {
  /** A session ended on some gateway (payload cluster.SessionClosed). */
  sessionClosed: "sys.session.closed",
  /** A session was bound to a uid (payload cluster.SessionOpened). */
  sessionOpened: "sys.session.opened",
  /**
   * The sweeper asks the live gateways (queue group {@link GATEWAY_ADOPT_QUEUE}) to take a dead
   * gateway's sessions as away sessions (payload cluster.AdoptRequest, reply cluster.AdoptReply).
   */
  gatewayAdopt: "sys.gateway.adopt",
  /** Each process's start-up self-check publishes to itself under this prefix. */
  selfCheckPrefix: "sys.selfcheck",
  /** Requests to the master (ctl). */
  masterPrefix: "sys.master",
  /** The master's metrics gather: every gateway and module instance answers with its registry. */
  metrics: "sys.metrics",
} as const;

/** The queue group in which gateways answer sys.gateway.adopt: one of them adopts. */
export const GATEWAY_ADOPT_QUEUE = "gateways";

/** Subject of a master ctl verb, e.g. sys.master.status. */
export function masterSubject(verb: string): string {
  return `${SystemSubject.masterPrefix}.${verb}`;
}

/** Prefix of a host agent's verbs (spawn, stop, list), e.g. "sys.agent.host-b." */
export function agentPrefix(hostId: string): string {
  return `sys.agent.${hostId}.`;
}

/** Where a host agent announces that one of its processes exited (payload JSON AgentExit). */
export function agentExitSubject(hostId: string): string {
  return `sys.agent.${hostId}.exited`;
}
