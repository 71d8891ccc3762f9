import type { z } from "zod";
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

/** "modules.login.settings.admins: expected array, received string; …" */
export function describeIssues(prefix: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => describeIssue(prefix, issue)).join("; ");
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))].join(".").replace(/\.\[/g, "[");
}

/** One issue; a union or a record key says what went wrong inside it, not only "Invalid input". */
function describeIssue(prefix: string, issue: z.core.$ZodIssue): string {
  const at = joinPath(prefix, issue.path);
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const alternatives = issue.errors.map((branch) => branch.map((i) => describeIssue(at, i)).join(", "));
    return `${at}: none of the accepted forms matches (${alternatives.join(" | ")})`;
  }
  if (issue.code === "invalid_key" || issue.code === "invalid_element") {
    return issue.issues.map((i) => describeIssue(`${at} (key)`, i)).join("; ");
  }
  return `${at}: ${issue.message}`;
}
