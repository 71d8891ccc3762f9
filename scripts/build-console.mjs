// Builds the master's web console (console/) into dist/console/: index.html, console.css and
// console.js (console/src/app.ts bundled by esbuild; it imports only types from src/).
// Run by `npm run build` and scripts/setup.sh after tsc.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const CONSOLE_DIR = join(root, "dist", "console");

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(CONSOLE_DIR, { recursive: true });
  await build({
    entryPoints: [join(root, "console", "src", "app.ts")],
    outfile: join(CONSOLE_DIR, "console.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
  });
  for (const f of ["index.html", "console.css"]) copyFileSync(join(root, "console", f), join(CONSOLE_DIR, f));
}
