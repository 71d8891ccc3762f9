import { describeIssues } from "../config/describe-issues.js";
import type { ClusterConfig } from "../config/cluster-config.js";
import type { ModuleDefinition } from "./define.js";

/** The settings of a module do not match its schema; the message names every wrong key path. */
export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

/**
 * Validates and defaults `modules.<name>.settings` with the module's schema (an empty object when
 * the config has none). Runs once per instance start, and in the master before anything starts.
 */
export function parseModuleSettings(def: Pick<ModuleDefinition, "name" | "settings">, config: ClusterConfig): unknown {
  const raw = config.modules[def.name]?.settings ?? {};
  if (def.settings === undefined) return raw;
  const result = def.settings.safeParse(raw);
  if (result.success) return result.data;
  throw new SettingsError(describeIssues(`modules.${def.name}.settings`, result.error.issues));
}
