import { spawn, type ChildProcess } from "node:child_process";
import type { NatsConnection } from "nats";
import { SwitchyardError } from "../protocol/errors.js";
import { agentExitSubject, agentPrefix, isSubjectToken } from "../bus/subjects.js";
import type { Logger } from "../log/logger.js";
import { CREDENTIALS_ENV, NATS_URL_ENV, REDIS_URL_ENV, roleFile } from "../servers/credentials.js";
import { NatsRole } from "../servers/nats-permissions.js";
import { startCtlServer, type CtlServer } from "../ctl/ctl-server.js";
import { childNodeOptions, commandArgs, parseAnnouncedSlot, ProcessKind, switchyardBin, type ProcessSlot } from "../process/process-plan.js";

/** Request of `sys.agent.<hostId>.spawn`. */
export interface AgentSpawnRequest {
  slot: ProcessSlot;
  instance: string;
  /** Redis of the cluster, as the master knows it (the agent's config may point elsewhere); no password. */
  redisUrl?: string;
  /** NATS role of the instance (module or auth): which credentials file its process gets. */
  role?: NatsRole;
}

/** Request of `sys.agent.<hostId>.stop`. */
export interface AgentStopRequest {
  instance: string;
  signal?: "SIGTERM" | "SIGKILL";
}

/** One process an agent runs (`sys.agent.<hostId>.list`). */
export interface AgentProcessInfo {
  instance: string;
  key: string;
  module: string;
  pid: number;
  startedAt: number;
}

/** Published on `sys.agent.<hostId>.exited` when one of its processes exits. */
export interface AgentExit {
  instance: string;
  code: number | null;
  signal: string | null;
}

/** What a host agent needs. */
export interface AgentOptions {
  hostId: string;
  nc: NatsConnection;
  /** NATS url handed to the instances it starts. */
  natsUrl: string;
  /** Cluster config handed to the instances (module settings); default: theirs. */
  configPath?: string;
  /** Folder of the cluster's role credentials files (same host as the master), if any. */
  credentialsDir?: string | null;
  log: Logger;
}

/** A running host agent. */
export interface HostAgent {
  readonly hostId: string;
  /** Processes it started that still run. */
  list(): AgentProcessInfo[];
  /** Stops answering; the processes it started keep running (like the master's). */
  close(): void;
}

/**
 * Runs module instances on this host for a master elsewhere: answers
 * `sys.agent.<hostId>.spawn|stop|list` and publishes `sys.agent.<hostId>.exited`. Each instance
 * runs in its own process group with $SWITCHYARD_HOST_ID and $SWITCHYARD_SLOT set, so it shows
 * under this host id in `ctl status` and a restarted master can adopt it.
 */
export function startHostAgent(opts: AgentOptions): HostAgent {
  if (!isSubjectToken(opts.hostId)) throw new Error(`host id "${opts.hostId}" must be one NATS subject token (letters, digits, '-', '_')`);
  const bin = switchyardBin();
  const children = new Map<string, { child: ChildProcess; info: AgentProcessInfo }>();
  const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

  const list = (): AgentProcessInfo[] => [...children.values()].map((c) => c.info);

  const server: CtlServer = startCtlServer(
    opts.nc,
    {
      spawn(body) {
        const req = parseSpawnRequest(body);
        if (children.has(req.instance)) throw new SwitchyardError("CONFLICT", `instance ${req.instance} already runs on ${opts.hostId}`);
        const args = [bin, ...commandArgs(req.slot, req.instance, opts.configPath)];
        // URLs go through the environment: one may carry a password, and a command line is
        // readable by every user of the host (/proc/<pid>/cmdline).
        const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: childNodeOptions(process.env), SWITCHYARD_HOST_ID: opts.hostId, SWITCHYARD_SLOT: JSON.stringify(req.slot), [NATS_URL_ENV]: opts.natsUrl };
        if (req.redisUrl !== undefined) env[REDIS_URL_ENV] = req.redisUrl;
        delete env[CREDENTIALS_ENV];
        if (opts.credentialsDir) env[CREDENTIALS_ENV] = roleFile(opts.credentialsDir, req.role ?? NatsRole.module);
        const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"], detached: true, env });
        if (child.pid === undefined) throw new SwitchyardError("INTERNAL", `cannot start ${req.slot.module} on ${opts.hostId}`);
        const info: AgentProcessInfo = { instance: req.instance, key: req.slot.key, module: req.slot.module, pid: child.pid, startedAt: Date.now() };
        children.set(req.instance, { child, info });
        child.once("exit", (code, signal) => {
          children.delete(req.instance);
          opts.log.info({ childInstance: req.instance, code, signal }, "process exited");
          if (!opts.nc.isClosed()) opts.nc.publish(agentExitSubject(opts.hostId), enc({ instance: req.instance, code, signal } satisfies AgentExit));
        });
        opts.log.info({ slot: req.slot.key, childInstance: req.instance, childPid: child.pid }, "process spawned for the master");
        return { pid: child.pid };
      },
      stop(body) {
        const b = (body ?? {}) as Partial<AgentStopRequest>;
        const entry = typeof b.instance === "string" ? children.get(b.instance) : undefined;
        if (!entry) throw new SwitchyardError("NOT_FOUND", `no process ${JSON.stringify(b.instance)} runs on agent ${opts.hostId}`);
        const signal = b.signal === "SIGKILL" ? "SIGKILL" : "SIGTERM";
        entry.child.kill(signal);
        return { ok: true, pid: entry.info.pid, signal };
      },
      list: () => list(),
    },
    opts.log,
    agentPrefix(opts.hostId),
  );
  opts.log.info({ hostId: opts.hostId }, "host agent ready");
  return {
    hostId: opts.hostId,
    list,
    close: () => server.close(),
  };
}

function parseSpawnRequest(body: unknown): AgentSpawnRequest {
  const b = (body ?? {}) as Partial<Record<keyof AgentSpawnRequest, unknown>>;
  const slot = parseAnnouncedSlot(JSON.stringify(b.slot ?? null));
  if (!slot || slot.kind !== ProcessKind.module) throw new SwitchyardError("BAD_REQUEST", "spawn: slot must be a module slot");
  if (typeof b.instance !== "string" || !isSubjectToken(b.instance)) throw new SwitchyardError("BAD_REQUEST", "spawn: instance must be a subject token");
  const role = b.role === NatsRole.auth ? NatsRole.auth : NatsRole.module;
  return { slot, instance: b.instance, role, ...(typeof b.redisUrl === "string" ? { redisUrl: b.redisUrl } : {}) };
}
