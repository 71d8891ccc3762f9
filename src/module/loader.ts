import { pathToFileURL } from "node:url";
import type { ClusterConfig } from "../config/cluster-config.js";
import { resolveModuleEntry } from "../config/module-entry.js";
import type { ModuleDefinition } from "./define.js";

/**
 * Imports a module's definition: from `fromPath` (hot-added code), else the config's
 * `modules.<name>.entry`, else the project's compiled dist/modules/<name>/index.js, else the
 * framework's standard module of that name (see resolveModuleEntry). The file's default export
 * must be the value returned by defineModule().
 */
export async function loadModuleDefinition(name: string, config: ClusterConfig, fromPath?: string): Promise<ModuleDefinition> {
  return importModuleDefinition(name, resolveModuleEntry(name, config, fromPath));
}

/** Imports `file` and checks that its default export is a module definition (of module `name`, when given). */
export async function importModuleDefinition(name: string | undefined, file: string): Promise<ModuleDefinition> {
  const mod = (await import(pathToFileURL(file).href)) as { default?: ModuleDefinition };
  const def = mod.default;
  if (!def || typeof def !== "object" || typeof def.name !== "string" || typeof def.handlers !== "object") {
    throw new Error(`module ${name ?? file}: ${file} must \`export default defineModule(...)\``);
  }
  if (name !== undefined && def.name !== name) throw new Error(`module ${name}: ${file} defines module "${def.name}"`);
  return def;
}
