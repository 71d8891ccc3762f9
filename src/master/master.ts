import { checkConfiguredModules } from "./check-modules.js";
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import type { NatsConnection } from "nats";
import { connectBus } from "../bus/connection.js";
import { listInstances, type InstanceStatus } from "../bus/discovery.js";
import { loadClusterConfig, type ClusterConfig } from "../config/cluster-config.js";
import { createLogger, type Logger } from "../log/logger.js";
import { CREDENTIALS_ENV, applyCredentials, moduleRole, roleFile, withoutCredentials } from "../servers/credentials.js";
import { NatsRole } from "../servers/nats-permissions.js";
import { RemoteProcesses } from "../agent/agent-client.js";
import { requestMaster } from "../ctl/ctl-client.js";
import { startCtlServer, type CtlHandler, type CtlServer } from "../ctl/ctl-server.js";
import { ensureEmbeddedServers, type EmbeddedServer } from "./embedded-servers.js";
import type { SpawnProcess } from "../process/process-handle.js";
import {
  addModule,
  parseAddRequest,
  parseRemoveRequest,
  parseRolloutRequest,
  removeModule,
  rolloutModule,
  scaleWithPlacement,
  type ModuleSource,
  type Operations,
} from "./operations.js";
import { childNodeOptions, commandArgs, parseAnnouncedSlot, planProcesses, ProcessKind, readyLine, switchyardBin, type ProcessSlot } from "../process/process-plan.js";
import { parseScaleRequest } from "./scale.js";
import { parseGatewayRolloutRequest, rolloutGateways } from "./gateway-rollout.js";
import type { MasterStatus } from "./status.js";
import { NotReadyError, Supervisor } from "./supervisor.js";
import { ClusterMetrics } from "./cluster-metrics.js";
import { startMasterHttp, type MasterHttp, type MasterHttpOptions } from "./http-server.js";
import { SwitchyardError } from "../protocol/errors.js";
import { DEFAULT_KICK_REASON, kickUser } from "../ctl/kick-user.js";
import { clusterOverview, type OperationInProgress } from "./overview.js";
import { demoClientConfig, startDemoServer, type DemoServer } from "../web/index.js";

/** How long a child may take to drain after SIGTERM before it gets SIGKILL (at least). */
export const STOP_GRACE_MS = 10_000;
/** drainTimeoutMs of a module that sets none (the module host's default). */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** Options of `runMaster`. */
export interface MasterOptions {
  /** Absolute path of the cluster config; handed to every child. */
  configPath: string;
  /** Where the ready line goes (default: stdout). */
  out?: (line: string) => void;
}

/**
 * Runs the master until it is told to stop: starts the embedded NATS/Redis when needed, spawns
 * and supervises every gateway and module instance, answers ctl requests, prints the ready line,
 * and on SIGINT/SIGTERM (or `ctl stop`) stops the children, then the servers it started.
 * Resolves with the process exit code.
 */
export async function runMaster(opts: MasterOptions): Promise<number> {
  const cfg = loadClusterConfig(opts.configPath);
  const log = createLogger("master", "master", process.env.SWITCHYARD_LOG_LEVEL ?? cfg.log.level);
  const out = opts.out ?? ((line: string) => void process.stdout.write(line + "\n"));

  const startedAt = Date.now();
  await checkConfiguredModules(cfg);
  const cluster = await ensureEmbeddedServers(cfg, log);
  const embedded = cluster.servers;
  if (cluster.master) applyCredentials(cfg, cluster.master);
  let nc: NatsConnection;
  try {
    nc = await connectBus(cfg.nats, "switchyard-master");
  } catch (err) {
    await Promise.all(embedded.map((s) => s.stop()));
    throw err;
  }

  // Two masters of one cluster would each spawn a full set of processes.
  const other = await requestMaster<MasterStatus>(nc, "status", undefined, 1_000).catch(() => null);
  if (other) {
    await nc.close();
    await Promise.all(embedded.map((s) => s.stop()));
    throw new Error(`a master already runs this cluster (pid ${other.pid} on ${other.host}, config ${other.configPath}): use it, or stop it with \`npx switchyard ctl stop\``);
  }

  const selfHost = process.env.SWITCHYARD_HOST_ID || hostname();
  const remote = new RemoteProcesses(nc, log);
  const local = spawnChild(opts.configPath, cfg, cluster.credentialsDir);
  // The Redis password never travels to an agent: it hands its children their role's file.
  const spawn: SpawnProcess = (slot, id) =>
    slot.host !== undefined && slot.host !== selfHost ? remote.spawnOnAgent(slot, id, withoutCredentials(cfg.redis.url), moduleRole(cfg, slot.module)) : local(slot, id);
  const supervisor = new Supervisor({ policy: cfg.master, spawn, log, nc });
  let httpUrl: string | null = null;
  const status = (): MasterStatus => ({
    http: httpUrl,
    pid: process.pid,
    host: selfHost,
    startedAt,
    uptimeMs: Date.now() - startedAt,
    configPath: opts.configPath,
    natsUrl: cfg.nats.url,
    embedded: embedded.map((s) => ({ name: s.name, pid: s.pid, address: s.address })),
    processes: supervisor.snapshot(),
  });
  const ops: Operations = {
    supervisor,
    config: cfg,
    nc,
    agents: remote,
    selfHost,
    log,
    sources: new Map<string, ModuleSource>(),
    graceFor: (module) => Math.max(STOP_GRACE_MS, (cfg.modules[module]?.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS) + 5_000),
  };

  const stop = stopSequence(supervisor, embedded, nc, log, remote);
  let changes: Promise<unknown> = Promise.resolve();
  const inProgress = new Set<OperationInProgress>();
  // One change at a time: two overlapping scales/rollouts of a module would pick the same slots.
  const serial = <T>(run: () => Promise<T>, verb = "change", module = ""): Promise<T> => {
    const op: OperationInProgress = { verb, module, startedAt: Date.now() };
    inProgress.add(op);
    const result = changes.then(run).finally(() => inProgress.delete(op));
    changes = result.catch(() => undefined);
    return result;
  };
  const metrics = cfg.telemetry.metrics ? new ClusterMetrics(nc, supervisor) : null;
  const overview = () => clusterOverview({ nc, status, metrics, operations: () => [...inProgress], actions: cfg.master.adminToken !== "" });
  const verbs = {
    status,
    stop: () => {
      setImmediate(() => stop.request("ctl stop", false));
      return { ok: true, pid: process.pid, stopping: supervisor.keys().length };
    },
    scale: (body) => {
      const req = parseScaleRequest(body);
      return serial(() => scaleWithPlacement(ops, req), "scale", req.module);
    },
    add: (body) => {
      const req = parseAddRequest(body);
      return serial(() => addModule(ops, req), "add", req.module);
    },
    remove: (body) => {
      const req = parseRemoveRequest(body);
      return serial(() => removeModule(ops, req), "remove", req.module);
    },
    rollout: (body) => {
      const req = parseRolloutRequest(body);
      return serial(() => rolloutModule(ops, req), "rollout", req.module);
    },
    "rollout-gateway": (body) => {
      const req = parseGatewayRolloutRequest(body);
      return serial(() => rolloutGateways(ops, req), "rollout", "gateway");
    },
    top: () => overview(),
  } satisfies Record<string, CtlHandler>;
  // Keeps answering while the children stop, so `ctl status` shows them stopping; closed after.
  stop.afterChildren(startCtlServer(nc, verbs, log));

  const http = await startConsole(cfg, log, {
    metrics: metrics === null ? null : () => metrics.exposition(),
    overview,
    actions: {
      scale: verbs.scale,
      rollout: verbs.rollout,
      kick: (body) => {
        const b = (body ?? {}) as { uid?: unknown; reason?: unknown };
        if (typeof b.uid !== "string" || b.uid === "") throw new SwitchyardError("BAD_REQUEST", "kick: uid must be a user id");
        return kickUser(nc, b.uid, typeof b.reason === "string" && b.reason !== "" ? b.reason : DEFAULT_KICK_REASON);
      },
    },
  });
  httpUrl = http?.url ?? null;

  const onSignal = (signal: NodeJS.Signals): void => stop.request(signal);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const adopted = adoptRunning(await runningInstances(nc, log), { supervisor, remote, selfHost, sources: ops.sources, log });
  if (adopted > 0) out(`switchyard: adopted ${adopted} running instance${adopted === 1 ? "" : "s"} started by an earlier master`);
  // The config is the starting shape; a module that already runs keeps the shape it has now
  // (scaled, rolled out, hot-added) instead of getting duplicates.
  const runningModules = new Set(supervisor.allSlots().filter((s) => s.kind === ProcessKind.module).map((s) => s.module));
  // A rolled-out gateway runs under a new id for its config entry: no second one for that entry.
  const runningEndpoints = new Set(supervisor.allSlots().filter((s) => s.kind === ProcessKind.gateway).map((s) => s.endpoint ?? s.gatewayId));
  for (const slot of planProcesses(cfg)) {
    if (supervisor.slot(slot.key) || (slot.kind === ProcessKind.module && runningModules.has(slot.module))) continue;
    if (slot.kind === ProcessKind.gateway && runningEndpoints.has(slot.gatewayId)) continue;
    supervisor.add(slot);
  }
  const slots = supervisor.allSlots();
  log.info({ processes: slots.length, adopted, config: opts.configPath }, "master started; waiting for every process to answer");

  let code = 0;
  const ready = supervisor.waitReady(cfg.master.readyTimeoutMs).then(
    () => "ready" as const,
    (err: unknown) => err,
  );
  const outcome = await Promise.race([ready, stop.requested.then(() => "stopped" as const)]);
  let web: DemoServer | null = null;
  if (outcome === "ready") {
    out(readyLine(slots));
    if (cfg.web !== null) web = await startWebDemo(cfg, log, out);
  } else if (outcome !== "stopped") {
    const message = outcome instanceof NotReadyError ? outcome.message : String(outcome);
    log.error({ err: outcome }, "cluster did not become ready");
    process.stderr.write(`switchyard: the cluster did not become ready: ${message}\n`);
    code = 1;
    stop.request("not ready");
  }
  await stop.done;
  await http?.close();
  await web?.close();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return code;
}

/**
 * Starts the HTTP server of `GET /metrics` and the console on master.httpPort (-1: none). A port
 * that is taken is a warning, not a failure: the cluster matters more than its console.
 */
async function startConsole(cfg: ClusterConfig, log: Logger, parts: Pick<MasterHttpOptions, "metrics" | "overview" | "actions">): Promise<MasterHttp | null> {
  if (cfg.master.httpPort === -1) return null;
  try {
    const http = await startMasterHttp({ host: cfg.master.httpHost, port: cfg.master.httpPort, adminToken: cfg.master.adminToken, log, ...parts });
    log.info({ url: http.url, metrics: `${http.url}metrics`, actions: cfg.master.adminToken !== "" }, "console and /metrics listening");
    return http;
  } catch (err) {
    log.warn({ err: (err as Error).message, port: cfg.master.httpPort }, "no console and /metrics: cannot listen on master.httpPort; set another port (0: a free one) or -1");
    return null;
  }
}

/** The web demo of config `web`; a failure to serve it is logged, the cluster runs on. */
async function startWebDemo(cfg: ClusterConfig, log: Logger, out: (line: string) => void): Promise<DemoServer | null> {
  try {
    const server = await startDemoServer({ host: cfg.web!.host, port: cfg.web!.port, client: demoClientConfig(cfg) });
    out(`switchyard: web demo at ${server.url}`);
    return server;
  } catch (err) {
    log.error({ err }, "web demo not served");
    return null;
  }
}

/** Instances of the cluster that announce a master slot; none when discovery fails. */
async function runningInstances(nc: NatsConnection, log: Logger): Promise<InstanceStatus[]> {
  try {
    return (await listInstances(nc, 1_000)).filter((i) => i.slot !== undefined);
  } catch (err) {
    log.warn({ err }, "discovery failed: starting every process of the config");
    return [];
  }
}

/**
 * Adopts the instances an earlier master started (they announce their slot): this master
 * supervises them as if it had spawned them, instead of starting duplicates. Returns how many.
 */
function adoptRunning(
  found: readonly InstanceStatus[],
  deps: { supervisor: Supervisor; remote: RemoteProcesses; selfHost: string; sources: Map<string, ModuleSource>; log: Logger },
): number {
  let n = 0;
  // Oldest first: of two claiming one slot (a rollout cut short), the older keeps it.
  for (const inst of [...found].sort((a, b) => a.startedAt - b.startedAt)) {
    const slot: ProcessSlot | null = parseAnnouncedSlot(inst.slot);
    if (!slot || inst.state === "draining" || inst.state === "stopped") continue;
    if (deps.supervisor.slot(slot.key)) {
      deps.log.warn({ slot: slot.key, childInstance: inst.instance }, "a second instance claims this slot: left unsupervised (drain it with `ctl rollout` or by hand)");
      continue;
    }
    const onAgent = slot.host !== undefined && slot.host !== deps.selfHost;
    const handle = deps.remote.adopt(inst.instance, inst.pid, { local: !onAgent && inst.host === deps.selfHost, agentHost: onAgent ? slot.host! : null });
    deps.supervisor.adopt(slot, handle, inst.instance, inst.startedAt);
    if (slot.kind === ProcessKind.module && (slot.from !== undefined || slot.proto !== undefined)) {
      deps.sources.set(slot.module, { ...(slot.from ? { from: slot.from } : {}), ...(slot.proto ? { proto: slot.proto } : {}) });
    }
    n++;
  }
  return n;
}

/**
 * Spawns `node bin/switchyard.js <command>` for a slot, in its own process group, with
 * $SWITCHYARD_CREDENTIALS naming the credentials file of its role (when the master runs servers).
 */
function spawnChild(configPath: string, cfg: ClusterConfig, credentialsDir: string | null): SpawnProcess {
  const bin = switchyardBin();
  const base: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_CONFIG: configPath, NODE_OPTIONS: childNodeOptions(process.env) };
  delete base[CREDENTIALS_ENV];
  return (slot, instanceId) =>
    spawn(process.execPath, [bin, ...commandArgs(slot, instanceId, configPath)], {
      // Logs (pino JSON) go straight to the master's stdout/stderr: no pipe through the master,
      // so a child keeps logging (and serving) if the master dies.
      stdio: ["ignore", "inherit", "inherit"],
      // Own process group: a terminal Ctrl-C reaches only the master, which stops children in
      // order; and a master that dies does not take the cluster down with it.
      detached: true,
      // SWITCHYARD_SLOT: announced through discovery, so a restarted master adopts the process.
      env: {
        ...base,
        SWITCHYARD_SLOT: JSON.stringify(slot),
        ...(credentialsDir !== null ? { [CREDENTIALS_ENV]: roleFile(credentialsDir, slot.kind === ProcessKind.gateway ? NatsRole.gateway : moduleRole(cfg, slot.module)) } : {}),
      },
    });
}

interface StopSequence {
  /**
   * Starts the shutdown (idempotent). A second request with `escalate` (a second Ctrl-C) while
   * stopping SIGKILLs the children.
   */
  request(reason: string, escalate?: boolean): void;
  /** Registers the ctl server, closed once the children are gone. */
  afterChildren(ctl: CtlServer): void;
  /** Resolves when a stop was requested. */
  requested: Promise<void>;
  /** Resolves when everything is stopped. */
  done: Promise<void>;
}

/** Children first (they drain), then the ctl server and master's connection, then the servers it started. */
function stopSequence(supervisor: Supervisor, embedded: EmbeddedServer[], nc: NatsConnection, log: Logger, remote: RemoteProcesses): StopSequence {
  let ctl: CtlServer | null = null;
  let signalRequested!: () => void;
  let signalDone!: () => void;
  const requested = new Promise<void>((r) => (signalRequested = r));
  const done = new Promise<void>((r) => (signalDone = r));
  let stopping = false;
  let stoppingSince = 0;
  return {
    requested,
    done,
    afterChildren(server) {
      ctl = server;
    },
    request(reason, escalate = true) {
      if (stopping) {
        // A terminal Ctrl-C reaches both npm and the master, and npm forwards it too: a repeat
        // within a second is that echo, not a second Ctrl-C.
        if (!escalate || Date.now() - stoppingSince < 1_000) return;
        log.warn({ reason }, "stop requested again: killing every process now");
        supervisor.killAll();
        return;
      }
      stopping = true;
      stoppingSince = Date.now();
      signalRequested();
      log.info({ reason, processes: supervisor.keys().length }, "stopping the cluster");
      void (async () => {
        try {
          await supervisor.stopAll(STOP_GRACE_MS);
          ctl?.close();
          remote.close();
          await nc.close().catch(() => undefined);
          await Promise.all([...embedded].reverse().map((s) => s.stop()));
          log.info("cluster stopped");
        } catch (err) {
          log.error({ err }, "error while stopping the cluster");
        } finally {
          signalDone();
        }
      })();
    },
  };
}
