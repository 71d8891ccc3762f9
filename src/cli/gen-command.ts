import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { frameworkRoot, projectRoot } from "../config/cluster-config.js";
import { protoDirs } from "../proto/registry.js";

/** Usage of `switchyard gen`. */
export const GEN_USAGE = "switchyard gen [--check]   generate TypeScript types from proto/ (a project: generated/proto.ts)";

/**
 * `switchyard gen`: in the framework's repository, runs scripts/gen-proto.mjs (writes
 * src/generated/proto.ts); in a project, generates `<project>/generated/proto.ts` from the
 * framework's proto/ plus the project's.
 *
 * Placeholder until the generator becomes this verb: scripts/gen-proto.mjs reads the proto/ next
 * to itself, so a project's run stages a copy beside both proto folders.
 */
export function runGenCommand(argv: string[]): void {
  const framework = frameworkRoot();
  const project = projectRoot();
  const script = join(framework, "scripts", "gen-proto.mjs");
  if (project === framework) {
    process.exitCode = runNode(script, argv);
    return;
  }
  const stage = mkdtempSync(join(tmpdir(), "sy-gen-"));
  try {
    mkdirSync(join(stage, "scripts"));
    mkdirSync(join(stage, "proto"));
    mkdirSync(join(stage, "src", "generated"), { recursive: true });
    mkdirSync(join(stage, "node_modules"));
    copyFileSync(script, join(stage, "scripts", "gen-proto.mjs"));
    for (const dir of protoDirs(join(project, "proto"))) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".proto"))) {
        if (existsSync(join(stage, "proto", file))) throw new Error(`proto/${file} of ${project} has the name of a framework proto file: rename it`);
        copyFileSync(join(dir, file), join(stage, "proto", file));
      }
    }
    const protobufjs = dirname(createRequire(join(framework, "package.json")).resolve("protobufjs/package.json"));
    symlinkSync(protobufjs, join(stage, "node_modules", "protobufjs"), "dir");
    const code = runNode(join(stage, "scripts", "gen-proto.mjs"), []);
    if (code !== 0) {
      process.exitCode = code;
      return;
    }
    mkdirSync(join(project, "generated"), { recursive: true });
    copyFileSync(join(stage, "src", "generated", "proto.ts"), join(project, "generated", "proto.ts"));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function runNode(script: string, args: string[]): number {
  const run = spawnSync(process.execPath, [script, ...args], { stdio: "inherit" });
  if (run.error) throw new Error(`cannot run ${script}: ${run.error.message}`);
  return run.status ?? 1;
}
