import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ClusterConfig } from "../config/cluster-config.js";
import { projectRoot } from "../config/cluster-config.js";
import type { ModuleDefinition } from "./define.js";

/**
 * Imports a module's definition: from `fromPath` (hot-added code), else the config's
 * `modules.<name>.entry`, else the built dist/modules/<name>/index.js. The file's default
 * export must be the value returned by defineModule().
 */
export async function loadModuleDefinition(name: string, config: ClusterConfig, fromPath?: string): Promise<ModuleDefinition> {
  const configured = fromPath ?? config.modules[name]?.entry;
  const file = configured
    ? isAbsolute(configured) ? configured : resolve(configured)
    : join(projectRoot(), "dist", "modules", name, "index.js");
  if (!existsSync(file)) {
    throw new Error(`module ${name}: no code at ${file} (build with \`npm run build\`, or pass --from PATH)`);
  }
  const mod = (await import(pathToFileURL(file).href)) as { default?: ModuleDefinition };
  const def = mod.default;
  if (!def || typeof def !== "object" || typeof def.name !== "string" || typeof def.handlers !== "object") {
    throw new Error(`module ${name}: ${file} must \`export default defineModule({...})\``);
  }
  if (def.name !== name) throw new Error(`module ${name}: ${file} defines module "${def.name}"`);
  return def;
}
