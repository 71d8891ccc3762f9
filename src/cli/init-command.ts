import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { frameworkRoot } from "../config/cluster-config.js";
import { optString, parseArgs } from "./args.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard init`. */
export const INIT_USAGE = "switchyard init DIR [--name NAME] [--switchyard SPEC]   write a new project (example module greeter) into DIR";

/** The framework's own package.json, as far as init reads it. */
interface FrameworkPackage {
  version: string;
  devDependencies?: Record<string, string>;
}

/**
 * `switchyard init DIR`: writes a project into DIR (new or empty): package.json depending on
 * switchyard (`--switchyard SPEC`, default "^<this version>"; e.g. `file:../switchyard-0.1.0.tgz`),
 * proto/, modules/greeter/, config/cluster.json, tsconfig.json, test/, README.md, .gitignore.
 * Nothing is installed: the project's `npm start` / `npm test` do that.
 */
export function runInitCommand(argv: string[]): void {
  const args = parseArgs(argv);
  const target = args.positional[0];
  if (target === undefined || args.positional.length > 1) throw new UsageError(`usage: ${INIT_USAGE}`);
  const dir = resolve(target);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} is not empty: pass a new or empty folder`);
  const name = optString(args, "name") ?? basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, "-");
  const root = frameworkRoot();
  const framework = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as FrameworkPackage;
  const spec = optString(args, "switchyard") ?? `^${framework.version}`;

  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "templates", "project"), dir, { recursive: true });
  // npm pack leaves out files named .gitignore, so the template ships it without the dot.
  renameSync(join(dir, "gitignore"), join(dir, ".gitignore"));
  const readme = join(dir, "README.md");
  writeFileSync(readme, readFileSync(readme, "utf8").replaceAll("{{name}}", name));
  writeFileSync(join(dir, "package.json"), JSON.stringify(projectPackage(name, spec, framework), null, 2) + "\n");
  process.stdout.write(`switchyard init: wrote ${name} in ${dir}\n\n  cd ${target}\n  npm start     # installs, builds and runs the cluster\n  npm test\n`);
}

/** The project's package.json: switchyard, and the framework's own pinned TypeScript, types and vitest. */
function projectPackage(name: string, spec: string, framework: FrameworkPackage): object {
  const dev = framework.devDependencies ?? {};
  const pick = (pkg: string): Record<string, string> => (dev[pkg] !== undefined ? { [pkg]: dev[pkg] } : {});
  // The switchyard bin comes with the dependency: install it first when it is missing.
  const prepare = "test -x node_modules/.bin/switchyard || npm install --no-audit --no-fund; switchyard setup";
  return {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      setup: "switchyard setup",
      prestart: prepare,
      start: "switchyard start",
      pretest: prepare,
      test: "vitest run --dir test",
      build: "switchyard gen && tsc -p tsconfig.json",
    },
    dependencies: { switchyard: spec },
    devDependencies: { ...pick("@types/node"), ...pick("typescript"), ...pick("vitest") },
  };
}
