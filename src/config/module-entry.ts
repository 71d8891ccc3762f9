import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { SwitchyardError } from "../protocol/errors.js";
import { frameworkRoot, projectRoot, type ClusterConfig } from "./cluster-config.js";

/**
 * The files a module's code is looked for in, in order: `modules.<name>.entry` when the config
 * sets it (relative to the project root), else the project's compiled module
 * `<project>/dist/modules/<name>/index.js`, else the framework's standard module of that name.
 */
export function moduleEntryCandidates(name: string, config: ClusterConfig): string[] {
  const entry = config.modules[name]?.entry;
  if (entry !== undefined) return [resolve(projectRoot(), entry)];
  const own = join(projectRoot(), "dist", "modules", name, "index.js");
  const standard = join(frameworkRoot(), "dist", "modules", name, "index.js");
  return own === standard ? [own] : [own, standard];
}

/** Where a module's code was found (null: nowhere) and every path looked at. */
export interface ModuleEntryLookup {
  file: string | null;
  tried: string[];
}

/**
 * Looks for the code of module `name`: `from` (hot-added or rolled-out code, relative to the
 * working directory) when given, else the first of {@link moduleEntryCandidates} that exists.
 */
export function findModuleEntry(name: string, config: ClusterConfig, from?: string): ModuleEntryLookup {
  const tried = from !== undefined ? [resolve(from)] : moduleEntryCandidates(name, config);
  return { file: tried.find((file) => existsSync(file)) ?? null, tried };
}

/** The code file of module `name` (see findModuleEntry); throws NOT_FOUND naming every path tried. */
export function resolveModuleEntry(name: string, config: ClusterConfig, from?: string): string {
  const { file, tried } = findModuleEntry(name, config, from);
  if (file !== null) return file;
  const hint = from !== undefined
    ? "pass a JS file whose default export is defineModule(...)"
    : `build the project (\`npm run build\`), set modules.${name}.entry, or pass --from FILE`;
  throw new SwitchyardError("NOT_FOUND", `module ${name}: no code at ${tried.join(" or ")}: ${hint}`);
}
