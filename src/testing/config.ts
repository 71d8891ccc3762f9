import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CONFIG, type ClusterConfig } from "../config/cluster-config.js";

/**
 * A cluster config pointing at test servers: quiet logs ($SWITCHYARD_TEST_LOG sets the level),
 * a fresh runtime folder, cheap scrypt so logins stay fast, echo unordered. `overrides` replace
 * whole top-level sections.
 */
export function testConfig(natsUrl: string, redisUrl: string, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    ...DEFAULT_CONFIG,
    nats: { url: natsUrl, embedded: false },
    redis: { url: redisUrl, embedded: false },
    runtimeDir: mkdtempSync(join(tmpdir(), "sy-test-run-")),
    log: { level: process.env.SWITCHYARD_TEST_LOG ?? "silent" },
    gateways: [{ id: "gw-1", host: "127.0.0.1", port: 0 }],
    gateway: { ...DEFAULT_CONFIG.gateway },
    // echo is stateless and tests pipeline it (e.g. many Sleeps in flight at once): opt it out
    // of per-session ordering, as a deployment would.
    modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1, ordered: false } },
    master: { ...DEFAULT_CONFIG.master },
    ...overrides,
  };
}
