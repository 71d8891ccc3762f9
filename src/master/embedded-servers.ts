import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { Logger } from "../log/logger.js";
import { credentialsDir, loadOrCreateSecrets, readRoleFile, roleFile, writeRoleFiles, type ClusterSecrets, type RoleCredentials } from "../servers/credentials.js";
import { launchServer, type LaunchedServer, type ServerProgram } from "../servers/launcher.js";
import { NATS_ROLES, NatsRole } from "../servers/nats-permissions.js";
import { natsServerConfig, type NatsClusterNode } from "../servers/nats-server-config.js";
import { killPid, pidRunsProgram } from "../servers/pid-alive.js";
import { ensurePrivateDir } from "../servers/private-dir.js";
import { redisServerConfig } from "../servers/redis-server-config.js";
import { isListening } from "./ports.js";

/** A nats-server or redis-server this master started; it stops it on a clean shutdown. */
export interface EmbeddedServer {
  readonly name: ServerProgram;
  readonly pid: number;
  /** host:port it listens on. */
  readonly address: string;
  /** SIGTERM, SIGKILL after `graceMs`; removes the pid file. Same promise on every call. */
  stop(graceMs?: number): Promise<void>;
}

/** What `ensureEmbeddedServers` brought up. */
export interface EmbeddedCluster {
  /** The servers this master owns (started or adopted), NATS first. */
  servers: EmbeddedServer[];
  /**
   * Folder of the per-role credentials files (0700, files 0600) when this master owns a server;
   * null when the studio runs both servers (the config's credentials apply).
   */
  credentialsDir: string | null;
  /** The master's own credentials (role master), to connect with; null as above. */
  master: RoleCredentials | null;
}

/** Host and port of a nats:// or redis:// URL (the first one of a comma-separated list). */
export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  return hostPorts(url, defaultPort)[0]!;
}

/** Host and port of every URL of a comma-separated list. */
export function hostPorts(urls: string, defaultPort: number): { host: string; port: number }[] {
  return urls.split(",").map((one) => {
    const trimmed = one.trim();
    const u = new URL(trimmed.includes("://") ? trimmed : `x://${trimmed}`);
    const host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    return { host, port: u.port ? Number(u.port) : defaultPort };
  });
}

/** Route port of an embedded NATS node whose config gives none: its client port + this. */
export const ROUTE_PORT_OFFSET = 2_000;

/** Cluster name of an embedded NATS cluster. */
const NATS_CLUSTER_NAME = "switchyard";

/**
 * Makes sure NATS and Redis answer at the configured URLs: for each one marked `embedded` that
 * does not answer, starts a local server, locked down: the NATS server has one user per role
 * (see nats-permissions.ts), Redis a password and a maxmemory; passwords are generated once,
 * kept in `<runtimeDir>/credentials-<natsPort>/` (0700, files 0600) and written into 0600
 * config files, never on a command line. It restarts a server should it die. A server that
 * answers and that an earlier master started (its pid file names it) is adopted, so a clean
 * stop leaves no orphan.
 */
export async function ensureEmbeddedServers(cfg: ClusterConfig, log: Logger): Promise<EmbeddedCluster> {
  ensurePrivateDir(cfg.runtimeDir);
  const owned: EmbeddedServer[] = [];
  const natsNodes = hostPorts(cfg.nats.url, 4222);
  const nats = natsNodes[0]!;
  const redis = hostPort(cfg.redis.url, 6379);
  if (!cfg.nats.embedded && !cfg.redis.embedded) {
    await ensureNatsAnswers(cfg.nats.url, natsNodes);
    await ensureServer("redis-server", cfg.redis.url, redis, false, cfg.runtimeDir, log, () => "");
    return { servers: [], credentialsDir: null, master: null };
  }
  const dir = credentialsDir(cfg.runtimeDir, nats.port);
  const secrets = loadOrCreateSecrets(dir);
  const configuredRedisPassword = decodeURIComponent(new URL(cfg.redis.url.includes("://") ? cfg.redis.url : `redis://${cfg.redis.url}`).password);
  const redisPassword = configuredRedisPassword || secrets.redis;
  try {
    if (cfg.nats.embedded && (cfg.nats.user !== undefined || cfg.nats.token !== undefined)) {
      log.warn("nats.user/nats.pass/nats.token are not used by the embedded nats-server: the master generates one user per role (see README, Security)");
    }
    if (cfg.nats.embedded) {
      const routes = routeListeners(natsNodes, cfg.nats.routePorts);
      for (const [i, node] of natsNodes.entries()) {
        const cluster = natsNodes.length > 1 ? clusterNode(routes, i, secrets) : undefined;
        const natsServer = await ensureServer("nats-server", urlOf(cfg.nats.url, i), node, true, cfg.runtimeDir, log, () => natsConfig(node, secrets, cluster));
        if (natsServer) owned.push(natsServer);
      }
    } else {
      await ensureNatsAnswers(cfg.nats.url, natsNodes);
    }
    const dataDir = join(cfg.runtimeDir, `redis-${redis.port}`);
    const redisServer = await ensureServer("redis-server", cfg.redis.url, redis, cfg.redis.embedded, cfg.runtimeDir, log, () => {
      ensurePrivateDir(dataDir, "Redis data folder");
      // Files an earlier version created 0644 (append-only files hold live tokens).
      tighten(dataDir);
      return redisServerConfig({ ...redis, dir: dataDir, password: redisPassword, maxMemory: cfg.redis.maxMemory });
    });
    if (redisServer) owned.push(redisServer);
    const ownsNats = owned.some((s) => s.name === "nats-server");
    const ownsRedis = owned.some((s) => s.name === "redis-server");
    if (!ownsNats && !ownsRedis) return { servers: owned, credentialsDir: null, master: null };
    writeRoleFiles(dir, secrets, { nats: ownsNats, redis: ownsRedis, redisPassword });
    return { servers: owned, credentialsDir: dir, master: readRoleFile(roleFile(dir, NatsRole.master)) };
  } catch (err) {
    await Promise.all(owned.map((s) => s.stop()));
    throw err;
  }
}

/** The `i`-th URL of a comma-separated list. */
function urlOf(urls: string, i: number): string {
  return urls.split(",")[i]!.trim();
}

/** A NATS the studio runs: one answering node is enough (the processes connect to whichever answers). */
async function ensureNatsAnswers(url: string, nodes: readonly { host: string; port: number }[]): Promise<void> {
  for (const node of nodes) if (await isListening(node.host, node.port)) return;
  throw new Error(`nothing answers at NATS ${url} and nats.embedded is false: start your NATS server, or set nats.embedded to true`);
}

/** host:port of each node's route listener: `nats.routePorts`, else client port + ROUTE_PORT_OFFSET. */
function routeListeners(nodes: readonly { host: string; port: number }[], routePorts: readonly number[] | undefined): { host: string; port: number }[] {
  return nodes.map((node, i) => {
    const port = routePorts?.[i] ?? node.port + ROUTE_PORT_OFFSET;
    if (port > 65_535) throw new Error(`NATS node ${node.host}:${node.port}: its route port would be ${port}; set nats.routePorts (one port per NATS URL)`);
    return { host: node.host, port };
  });
}

function clusterNode(routes: readonly { host: string; port: number }[], i: number, secrets: ClusterSecrets): NatsClusterNode {
  const own = routes[i]!;
  const peers = routes.filter((_, j) => j !== i).map((r) => `${r.host}:${r.port}`);
  return { name: NATS_CLUSTER_NAME, host: own.host, port: own.port, peers, user: "route", password: secrets.natsRoute };
}

async function ensureServer(
  name: ServerProgram,
  url: string,
  at: { host: string; port: number },
  embedded: boolean,
  runtimeDir: string,
  log: Logger,
  config: () => string,
): Promise<EmbeddedServer | null> {
  const what = name === "nats-server" ? "NATS" : "Redis";
  const pidFile = pidFilePath(runtimeDir, name, at.port);
  if (await isListening(at.host, at.port)) {
    const pid = readPidFile(pidFile);
    if (embedded && pid !== null && pidRunsProgram(pid, name)) {
      log.info({ server: name, serverPid: pid, url }, `adopting the ${what} server an earlier master started`);
      return adoptServer(name, pid, `${at.host}:${at.port}`, pidFile);
    }
    log.info({ url }, `using the ${what} server already running`);
    return null;
  }
  if (!embedded) {
    const key = name === "nats-server" ? "nats" : "redis";
    throw new Error(`nothing answers at ${what} ${url} and ${key}.embedded is false: start your ${what} server, or set ${key}.embedded to true`);
  }
  return startServer(name, at, config(), runtimeDir, log);
}

function natsConfig(at: { host: string; port: number }, secrets: ClusterSecrets, cluster: NatsClusterNode | undefined): string {
  const users = NATS_ROLES.map((role) => ({ user: role, password: secrets.nats[role], role }));
  return natsServerConfig(cluster ? { ...at, users, cluster } : { ...at, users });
}

/** Pid file of the server a master started on `port` (a port per file: clusters may share runtimeDir). */
export function pidFilePath(runtimeDir: string, name: string, port: number): string {
  return join(runtimeDir, "run", `${name}-${port}.pid`);
}

async function startServer(name: ServerProgram, at: { host: string; port: number }, config: string, runtimeDir: string, log: Logger): Promise<EmbeddedServer> {
  const pidFile = pidFilePath(runtimeDir, name, at.port);
  ensurePrivateDir(join(runtimeDir, "run"));
  ensurePrivateDir(join(runtimeDir, "logs"));
  await killStale(pidFile, name, log);
  const logFile = join(runtimeDir, "logs", `${name}-${at.port}.log`);
  const address = `${at.host}:${at.port}`;
  let stopping: Promise<void> | null = null;
  let server: LaunchedServer | null = null;

  const restartLater = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (stopping || !server) return;
    // The cluster cannot work without it: start it again on the same port (Redis reloads its
    // append-only file); processes reconnect on their own.
    log.error({ server: name, serverPid: server.pid, code, signal, logFile }, "embedded server exited unexpectedly; restarting it in 1 s");
    setTimeout(() => {
      if (stopping || !server) return;
      server.restart().then(
        () => {
          writeFileSync(pidFile, `${server!.pid}\n`, { mode: 0o600 });
          log.info({ server: name, serverPid: server!.pid, address }, "embedded server restarted");
        },
        (err: unknown) => log.error({ server: name, err }, "embedded server failed to restart; retrying"),
      );
    }, 1_000).unref();
  };

  try {
    server = await launchServer({
      program: name,
      ...at,
      configFile: join(runtimeDir, "run", `${name}-${at.port}.conf`),
      config,
      logFile,
      // Own process group: a Ctrl-C in the terminal reaches only the master, which stops the
      // servers last, after every process using them has drained.
      detached: true,
      onUnexpectedExit: restartLater,
    });
  } catch (err) {
    rmSync(pidFile, { force: true });
    throw err;
  }
  writeFileSync(pidFile, `${server.pid}\n`, { mode: 0o600 });
  log.info({ server: name, serverPid: server.pid, address, logFile }, "started embedded server");
  const running = server;
  return {
    name,
    get pid() {
      return running.pid;
    },
    address,
    stop(graceMs = 5_000) {
      stopping ??= running.stop(graceMs).then(() => rmSync(pidFile, { force: true }));
      return stopping;
    },
  };
}

/** A server an earlier master started: stopped by pid, since it is not our child. */
function adoptServer(name: ServerProgram, pid: number, address: string, pidFile: string): EmbeddedServer {
  let stopping: Promise<void> | null = null;
  return {
    name,
    pid,
    address,
    stop(graceMs = 5_000) {
      stopping ??= killPid(pid, graceMs).then(() => rmSync(pidFile, { force: true }));
      return stopping;
    },
  };
}

function readPidFile(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * A pid file left by an earlier master that died: when it names a live process of the same
 * program (and nothing answered on its port, or we would not be here), that server is hung —
 * kill it so the port and data folder are ours.
 */
async function killStale(pidFile: string, name: string, log: Logger): Promise<void> {
  const pid = readPidFile(pidFile);
  rmSync(pidFile, { force: true });
  if (pid === null || !pidRunsProgram(pid, name)) return;
  log.warn({ server: name, serverPid: pid }, "killing a server an earlier master started, which no longer answers");
  await killPid(pid, 3_000);
}

/** chmod 0700 every folder and 0600 every file under `dir`. */
function tighten(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      chmodSync(path, 0o700);
      tighten(path);
    } else if (entry.isFile()) {
      chmodSync(path, 0o600);
    }
  }
}
