import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CONFIG, type ClusterConfig, type ModuleConfig } from "../config/cluster-config.js";
import { parseLogLevel } from "../config/cluster-schema.js";

/**
 * Per-address limits of the login module for tests: every test client comes from 127.0.0.1 and
 * many tests register hundreds of users at once, which is not abuse. A test of these limits sets
 * its own values (they are merged under the test's settings).
 */
export const TEST_LOGIN_LIMITS = {
  maxRegistrationsPerAddressPerHour: 1_000_000,
  maxFailedLoginsPerAddress: 1_000_000,
  maxConcurrentHashes: 10_000,
} as const;

/** Connections per address for tests: thousands of test connections share 127.0.0.1. */
export const TEST_MAX_CONNECTIONS_PER_ADDRESS = 1_000_000;

/** Gives a config's login module the test limits, under any settings the test chose itself. */
export function withTestLoginLimits(modules: Record<string, ModuleConfig>): Record<string, ModuleConfig> {
  const login = modules.login;
  if (login === undefined) return modules;
  return { ...modules, login: { ...login, settings: { ...TEST_LOGIN_LIMITS, ...login.settings } } };
}

/**
 * A cluster config pointing at test servers; cheap scrypt so login tests stay fast, and
 * per-address limits raised (see TEST_LOGIN_LIMITS) unless the overrides set them.
 */
export function testConfig(natsUrl: string, redisUrl: string, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  const cfg: ClusterConfig = {
    ...DEFAULT_CONFIG,
    nats: { ...DEFAULT_CONFIG.nats, url: natsUrl, embedded: false },
    redis: { ...DEFAULT_CONFIG.redis, url: redisUrl, embedded: false },
    runtimeDir: mkdtempSync(join(tmpdir(), "sy-test-run-")),
    log: { level: parseLogLevel(process.env.SWITCHYARD_TEST_LOG ?? "silent") },
    gateways: [{ id: "gw-1", host: "127.0.0.1", port: 0 }],
    gateway: { ...DEFAULT_CONFIG.gateway },
    // echo is stateless and tests pipeline it (e.g. many Sleeps in flight at once): opt it out
    // of per-session ordering, as a deployment would.
    modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1, ordered: false } },
    master: { ...DEFAULT_CONFIG.master, httpPort: 0 },
    ...overrides,
  };
  cfg.modules = withTestLoginLimits(cfg.modules);
  // Tests copy DEFAULT_CONFIG.gateway into their overrides: only a value other than the default
  // is the test's own choice.
  if (cfg.gateway.maxConnectionsPerAddress === DEFAULT_CONFIG.gateway.maxConnectionsPerAddress) {
    cfg.gateway = { ...cfg.gateway, maxConnectionsPerAddress: TEST_MAX_CONNECTIONS_PER_ADDRESS };
  }
  return cfg;
}
