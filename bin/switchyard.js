#!/usr/bin/env node
// The one entry point of the cluster: `switchyard start | module | gateway | ctl | client | help`.
// Plain JS so it runs without a TypeScript loader; the commands live in the build output.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const entry = join(dirname(dirname(fileURLToPath(import.meta.url))), "dist", "src", "cli", "main.js");

if (!existsSync(entry)) {
  process.stderr.write("switchyard is not built: run `npm run setup`\n");
  process.exit(1);
}

const { main } = await import(pathToFileURL(entry).href);
await main(process.argv.slice(2));
