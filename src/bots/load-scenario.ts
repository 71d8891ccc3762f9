import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../config/cluster-config.js";
import type { Scenario } from "./scenario.js";

/**
 * Imports a scenario file's default export. A `.ts` path inside the project is mapped to its
 * build output (bench/scenarios/basic.ts → dist/bench/scenarios/basic.js).
 */
export async function loadScenario(path: string): Promise<Scenario> {
  let file = resolve(path);
  if (file.endsWith(".ts")) {
    const root = projectRoot();
    const rel = relative(root, file);
    const built = resolve(root, "dist", rel.replace(/\.ts$/, ".js"));
    if (rel.startsWith("..") || !existsSync(built)) {
      throw new Error(`scenario ${path}: a TypeScript scenario must be built first (npm run build; it is then dist/${rel.replace(/\.ts$/, ".js")}), or pass a .js file`);
    }
    file = built;
  }
  if (!existsSync(file)) throw new Error(`scenario ${path}: no such file`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  if (typeof mod.default !== "function") throw new Error(`scenario ${path}: its default export must be an async function (bot) => { … }`);
  return mod.default as Scenario;
}
