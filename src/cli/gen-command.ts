import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { frameworkRoot, projectRoot } from "../config/cluster-config.js";
import { protoDirs } from "../proto/registry.js";

/** Usage of `switchyard gen`. */
export const GEN_USAGE = "switchyard gen [--check]   generate TypeScript types from proto/ (a project: generated/proto.ts)";

/** The generator's interface (scripts/gen-proto.mjs, plain JS so the build can run it before tsc). */
interface Generator {
  generate(opts: { protoDirs: string[]; importFrom: string; header: string }): string;
  writeGenerated(file: string, text: string, check: boolean): boolean;
}

/**
 * `switchyard gen`: in the framework's repository, writes src/generated/proto.ts from proto/; in a
 * project, writes `<project>/generated/proto.ts` from the framework's proto/ plus the project's,
 * importing the framework's types from "switchyard". `--check` only reports a stale file (exit 1).
 */
export async function runGenCommand(argv: string[]): Promise<void> {
  const framework = frameworkRoot();
  const project = projectRoot();
  const gen = (await import(pathToFileURL(join(framework, "scripts", "gen-proto.mjs")).href)) as Generator;
  const inRepo = project === framework;
  const file = inRepo ? join(framework, "src", "generated", "proto.ts") : join(project, "generated", "proto.ts");
  const text = gen.generate({
    protoDirs: protoDirs(join(project, "proto")),
    importFrom: inRepo ? "../module/service-ref.js" : "switchyard",
    header: inRepo ? "scripts/gen-proto.mjs from proto/*.proto" : "`switchyard gen` from the framework's proto/ and this project's proto/",
  });
  if (!gen.writeGenerated(file, text, argv.includes("--check"))) {
    process.stderr.write(`${file} is stale: run \`switchyard gen\`\n`);
    process.exitCode = 1;
  }
}
