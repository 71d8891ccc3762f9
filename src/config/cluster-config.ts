import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describeIssues } from "./describe-issues.js";
import { clusterConfigSchema, type ClusterConfig } from "./cluster-schema.js";

export type {
  ClusterConfig,
  GatewayEndpoint,
  GatewaySettings,
  GatewayTls,
  MasterSettings,
  ModuleConfig,
  NatsConfig,
  RedisConfig,
  TelemetryConfig,
  WebSettings,
} from "./cluster-schema.js";

/** The cluster config does not match the schema; the message names every wrong key path and what it expects. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Every default of the schema: what an empty config file means. */
export const DEFAULT_CONFIG: ClusterConfig = clusterConfigSchema.parse({});

/**
 * Root of the framework: the installed `switchyard` package (its proto/, bin/, standard modules in
 * dist/modules/, templates/, default config). Found from this file, so it is right wherever the
 * package is installed.
 */
export function frameworkRoot(): string {
  if (cachedFrameworkRoot !== undefined) return cachedFrameworkRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (packageName(dir) === "switchyard") return (cachedFrameworkRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the switchyard package above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
let cachedFrameworkRoot: string | undefined;

/**
 * Root of the project being run (the studio's folder: its config/, proto/, compiled modules):
 * $SWITCHYARD_PROJECT, else the nearest folder holding a package.json up from the working
 * directory, else the framework root. In the framework's own repository both roots are the same.
 */
export function projectRoot(): string {
  const fromEnv = process.env.SWITCHYARD_PROJECT;
  if (fromEnv) return resolve(fromEnv);
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) return frameworkRoot();
    dir = up;
  }
}

function packageName(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/**
 * Path of the config file: $SWITCHYARD_CONFIG, else config/cluster.json of the project, else
 * (a project without one) the framework's default config/cluster.json.
 */
export function defaultConfigPath(): string {
  if (process.env.SWITCHYARD_CONFIG) return resolve(process.env.SWITCHYARD_CONFIG);
  const own = join(projectRoot(), "config", "cluster.json");
  return existsSync(own) ? own : join(frameworkRoot(), "config", "cluster.json");
}

/**
 * Reads and validates a cluster config. Unknown keys and wrong types or ranges are errors that
 * name the key path, so a typo does not silently fall back to a default.
 */
export function loadClusterConfig(path = defaultConfigPath()): ClusterConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot read cluster config ${path}: ${(err as Error).message}`);
  }
  return parseClusterConfig(raw, path);
}

/** Modules whose config says `ordered: false` (what a gateway needs to know of the modules). */
export function unorderedModules(cfg: ClusterConfig): string[] {
  return Object.entries(cfg.modules)
    .filter(([, m]) => m.ordered === false)
    .map(([name]) => name);
}

/** Checks a parsed JSON value with the schema and applies the defaults of every key it leaves out. */
export function parseClusterConfig(raw: unknown, source = "config"): ClusterConfig {
  const result = clusterConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(`${source}: ${describeIssues("", result.error.issues)}`);
}
