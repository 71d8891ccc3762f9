import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.js";
import { NATS_ROLES, NatsRole } from "./nats-permissions.js";
import { checkPrivateFile, ensurePrivateDir, writePrivateFile } from "./private-dir.js";

/**
 * Environment variable naming the 0600 credentials file of a process's role. The master (and a
 * host agent) set it for every process they start; only the path travels, never the secret, so
 * it shows in no command line, and a child that dumps its environment leaks no password.
 */
export const CREDENTIALS_ENV = "SWITCHYARD_CREDENTIALS";

/** NATS URL a host agent hands a module it starts (instead of `--nats`: a URL may hold a password). */
export const NATS_URL_ENV = "SWITCHYARD_NATS_URL";
/** Redis URL a host agent hands a module it starts (instead of `--redis`). */
export const REDIS_URL_ENV = "SWITCHYARD_REDIS_URL";

/** What a process of one role needs to reach the embedded servers (a `<role>.json` file). */
export interface RoleCredentials {
  role: NatsRole;
  /** Present when the master runs the NATS server. */
  nats?: { user: string; pass: string };
  /** Present when the master runs the Redis server. */
  redis?: { password: string };
}

/** Every generated secret of one cluster (`secrets.json`, read by the master only). */
export interface ClusterSecrets {
  nats: Record<NatsRole, string>;
  /** Password of the route user of an embedded NATS cluster (routes between its nodes). */
  natsRoute: string;
  redis: string;
}

/** Roles whose processes use Redis (gateways too: limits shared through Redis). */
const REDIS_ROLES: ReadonlySet<NatsRole> = new Set<NatsRole>([NatsRole.gateway, NatsRole.module, NatsRole.auth]);

/** Folder of a cluster's credentials: one per NATS port, since clusters may share runtimeDir. */
export function credentialsDir(runtimeDir: string, natsPort: number): string {
  return join(runtimeDir, `credentials-${natsPort}`);
}

/** The credentials file of `role` in `dir`. */
export function roleFile(dir: string, role: NatsRole): string {
  return join(dir, `${role}.json`);
}

/** Reads the cluster's secrets, generating (and keeping, 0600) the missing ones. */
export function loadOrCreateSecrets(dir: string): ClusterSecrets {
  ensurePrivateDir(dir, "credentials folder");
  const file = join(dir, "secrets.json");
  let old: Partial<ClusterSecrets> = {};
  if (existsSync(file)) {
    checkPrivateFile(file, "secrets file");
    old = JSON.parse(readFileSync(file, "utf8")) as Partial<ClusterSecrets>;
  }
  const secret = (): string => randomBytes(24).toString("hex");
  const nats = {} as Record<NatsRole, string>;
  for (const role of NATS_ROLES) nats[role] = typeof old.nats?.[role] === "string" ? old.nats[role] : secret();
  const secrets: ClusterSecrets = {
    nats,
    natsRoute: typeof old.natsRoute === "string" ? old.natsRoute : secret(),
    redis: typeof old.redis === "string" ? old.redis : secret(),
  };
  writePrivateFile(file, JSON.stringify(secrets, null, 2) + "\n");
  return secrets;
}

/**
 * Writes `<role>.json` (0600) for every role: NATS credentials when the master runs NATS, the
 * Redis password (for the roles that use Redis) when it runs Redis.
 */
export function writeRoleFiles(dir: string, secrets: ClusterSecrets, owns: { nats: boolean; redis: boolean; redisPassword?: string }): void {
  for (const role of NATS_ROLES) {
    const creds: RoleCredentials = { role };
    if (owns.nats) creds.nats = { user: role, pass: secrets.nats[role] };
    if (owns.redis && REDIS_ROLES.has(role)) creds.redis = { password: owns.redisPassword ?? secrets.redis };
    writePrivateFile(roleFile(dir, role), JSON.stringify(creds, null, 2) + "\n");
  }
}

/** Reads a credentials file after checking it is this user's and 0600. */
export function readRoleFile(file: string): RoleCredentials {
  checkPrivateFile(file, "credentials file");
  const raw = JSON.parse(readFileSync(file, "utf8")) as Partial<RoleCredentials>;
  if (typeof raw.role !== "string" || !NATS_ROLES.includes(raw.role)) throw new Error(`credentials file ${file}: no valid "role"`);
  return raw as RoleCredentials;
}

/** The role of a module's processes: `auth` for the modules of `nats.authModules`. */
export function moduleRole(cfg: ClusterConfig, module: string): NatsRole {
  return cfg.nats.authModules.includes(module) ? NatsRole.auth : NatsRole.module;
}

/** Port of the first NATS URL (4222 when none is given). */
function natsPort(url: string): number {
  const first = url.split(",")[0]!.trim();
  const u = new URL(first.includes("://") ? first : `x://${first}`);
  return u.port ? Number(u.port) : 4222;
}

/**
 * Finds the credentials of a process of `role`: the file named by $SWITCHYARD_CREDENTIALS (set
 * by the master or an agent), else, when the config lets the master start the servers, the
 * role's file in `<runtimeDir>/credentials-<natsPort>/`. Returns the file and its content, or
 * null when there is none (servers the studio runs: the config's own credentials apply).
 */
export function findCredentials(cfg: ClusterConfig, role: NatsRole, env: NodeJS.ProcessEnv = process.env): { file: string; creds: RoleCredentials } | null {
  const named = env[CREDENTIALS_ENV];
  if (named) return { file: named, creds: readRoleFile(named) };
  if (!cfg.nats.embedded && !cfg.redis.embedded) return null;
  const file = roleFile(credentialsDir(cfg.runtimeDir, natsPort(cfg.nats.url)), role);
  if (!existsSync(file)) return null;
  return { file, creds: readRoleFile(file) };
}

/** Puts credentials into a config (in memory): NATS user/password, Redis password in its URL. */
export function applyCredentials(cfg: ClusterConfig, creds: RoleCredentials): void {
  if (creds.nats) {
    cfg.nats.user = creds.nats.user;
    cfg.nats.pass = creds.nats.pass;
    delete cfg.nats.token;
  }
  if (creds.redis) cfg.redis.url = withRedisPassword(cfg.redis.url, creds.redis.password);
}

/**
 * Loads and applies the credentials of `role` (see findCredentials). Returns the folder of the
 * file used (a host agent hands its children the files next to its own), or null.
 */
export function useCredentials(cfg: ClusterConfig, role: NatsRole, env: NodeJS.ProcessEnv = process.env): string | null {
  const found = findCredentials(cfg, role, env);
  if (!found) return null;
  applyCredentials(cfg, found.creds);
  return dirname(found.file);
}

/** `url` with `password` as its password (user kept). */
export function withRedisPassword(url: string, password: string): string {
  const u = new URL(url.includes("://") ? url : `redis://${url}`);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** `url` without user or password (what may travel to another process or show in a log). */
export function withoutCredentials(url: string): string {
  const u = new URL(url.includes("://") ? url : `redis://${url}`);
  u.username = "";
  u.password = "";
  return u.toString();
}
