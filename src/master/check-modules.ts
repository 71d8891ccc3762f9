import type { ClusterConfig } from "../config/cluster-config.js";
import { loadModuleDefinition } from "../module/loader.js";
import { parseModuleSettings } from "../module/settings.js";

/**
 * Loads every module the config runs and validates its settings with the module's own schema,
 * before anything starts: a wrong setting stops `npm start` with the key path, instead of every
 * instance crash-looping on it. Throws one Error listing every problem found.
 */
export async function checkConfiguredModules(cfg: ClusterConfig): Promise<void> {
  const problems: string[] = [];
  for (const [name, m] of Object.entries(cfg.modules)) {
    if (m.instances === 0) continue;
    try {
      parseModuleSettings(await loadModuleDefinition(name, cfg), cfg);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(`the cluster config has problems; nothing was started:\n  ${problems.join("\n  ")}`);
}
