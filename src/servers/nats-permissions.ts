/**
 * Who may publish and subscribe to what on the cluster's NATS: one user per role, so a process
 * of one kind cannot impersonate another (a module cannot ask the master to run a file or bind
 * a session; a gateway cannot reach module-to-module or operator subjects).
 *
 * Replies need no publish right: every role has `allow_responses`, which lets it answer exactly
 * once to the reply subject of a request it received (`_SY.<owner>.<token>`, `_INBOX.>`).
 */

/** The NATS users of a cluster. */
export const NatsRole = {
  /** Gateways: client traffic to modules, pushes and commands from them. */
  gateway: "gateway",
  /** Module instances. */
  module: "module",
  /** Modules that may bind sessions to a uid (`nats.authModules`, default login). */
  auth: "auth",
  /** The master and host agents. */
  master: "master",
  /** `switchyard ctl` (operators). */
  ctl: "ctl",
} as const;
export type NatsRole = (typeof NatsRole)[keyof typeof NatsRole];

/** Every role, in a stable order. */
export const NATS_ROLES: readonly NatsRole[] = Object.values(NatsRole);

/** Publish and subscribe allow-lists of one role. */
export interface RolePermissions {
  publish: readonly string[];
  subscribe: readonly string[];
}

/** Reply inboxes: ReplyMux (`_SY.<owner>.*`) and nats.js requests (`_INBOX.<nuid>.*`). */
const INBOXES = ["_SY.>", "_INBOX.>"];

/** Each process's start-up self-check of the nats.js fast paths publishes to itself here. */
const SELF_CHECK = "sys.selfcheck.>";

/** The master's metrics gather (gateways and modules answer it; see src/metrics/gather.ts). */
const METRICS = "sys.metrics";

const MODULE: RolePermissions = {
  // mod.>: calls to other modules (trusted subjects: the callee sees the caller); gw.*.cmd: push,
  // kick, join, leave; chan.>: broadcasts; $SRV.>: discovery (read-only: login picks the
  // least-loaded gateway from $SRV.STATS). Not svc.>/inst.>: those are the gateways' (clients').
  // sys.session.*: a bind announces the login; the gateway-liveness sweep announces the sessions
  // of a gateway that died; sys.gateway.adopt: the sweeper asks a live gateway to adopt them.
  publish: ["mod.>", "gw.*.cmd", "chan.>", "$SRV.>", "sys.session.opened", "sys.session.closed", "sys.gateway.adopt", SELF_CHECK],
  // sys.instance.> and $SRV.>: its own status/drain endpoints and the services API discovery.
  subscribe: ["svc.>", "inst.>", "mod.>", "sys.session.closed", "sys.session.opened", "sys.instance.>", "$SRV.>", METRICS, SELF_CHECK, ...INBOXES],
};

/** The permission set of each role (what the generated nats-server config grants). */
export const ROLE_PERMISSIONS: Readonly<Record<NatsRole, RolePermissions>> = {
  gateway: {
    // $SRV.STATS: the gateway directory (the gate, redirects) reads the gateways' load; read-only.
    // sys.instance.*.release-ports: a replacement asks the gateway it replaces for its ports.
    publish: ["svc.>", "inst.>", "sys.session.closed", "$SRV.STATS", "sys.instance.*.release-ports", SELF_CHECK],
    // sys.gateway.adopt: a live gateway takes a dead one's sessions (asked by the sweeper).
    subscribe: ["gw.*.cmd", "gw.*.bind", "chan.>", "sys.gateway.adopt", "sys.instance.>", "$SRV.>", METRICS, SELF_CHECK, ...INBOXES],
  },
  module: MODULE,
  auth: { publish: [...MODULE.publish, "gw.*.bind"], subscribe: MODULE.subscribe },
  master: {
    // sys.master.>: only to see whether another master already runs the cluster; sys.metrics:
    // the scrape gather; gw.*.cmd: the console's kick.
    publish: ["sys.master.>", "sys.agent.>", "sys.instance.>", "$SRV.>", "mod.>", METRICS, "gw.*.cmd", SELF_CHECK],
    subscribe: ["sys.master.>", "sys.agent.>", SELF_CHECK, ...INBOXES],
  },
  ctl: {
    // mod.>: `ctl call` (a trusted call); gw.*.cmd: `ctl kick`.
    publish: ["sys.master.>", "$SRV.>", "mod.>", "gw.*.cmd", SELF_CHECK],
    subscribe: [SELF_CHECK, ...INBOXES],
  },
};
