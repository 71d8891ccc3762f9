import { existsSync } from "node:fs";
import { join } from "node:path";
import { CHILD_ENV, CLI, profileArgs, type BenchProcess, type ProcessGroup } from "./processes.js";

/** A built checkout whose gateways and modules a scenario runs: this one, or an older one to compare. */
export interface Build {
  /** "before" (BENCH_BEFORE_ROOT) or "after" (this checkout). */
  label: "before" | "after";
  /** The switchyard CLI of that checkout. */
  cli: string;
  /** Environment of its processes: the project root is that checkout (its dist/modules). */
  env: NodeJS.ProcessEnv;
}

/**
 * The builds a before/after scenario measures in one run: the checkout named by BENCH_BEFORE_ROOT
 * (a built worktree of an older commit, e.g. main), when set, then this one; BENCH_AFTER_FIRST=1
 * measures this one first (the second build runs on a Redis and machine the first has used:
 * run both orders to see that effect). Same receivers and load drivers (this checkout's), only
 * the gateway and module code differs.
 */
export function benchBuilds(): Build[] {
  const before = process.env.BENCH_BEFORE_ROOT;
  const out: Build[] = [];
  if (before !== undefined && before !== "") {
    const cli = join(before, "bin", "switchyard.js");
    if (!existsSync(join(before, "dist", "src"))) throw new Error(`BENCH_BEFORE_ROOT=${before} has no dist/src: run bash scripts/setup.sh there first`);
    out.push({ label: "before", cli, env: { SWITCHYARD_PROJECT: before } });
  }
  out.push({ label: "after", cli: CLI, env: {} });
  return process.env.BENCH_AFTER_FIRST === "1" ? out.reverse() : out;
}

/** `switchyard gateway` of `build`, resolved once it listens. */
export function startGateway(g: ProcessGroup, build: Build, id: string, configPath: string): Promise<BenchProcess> {
  return g.spawn(id, process.execPath, [...profileArgs(), build.cli, "gateway", "--id", id, "--config", configPath], { readyLine: "gateway listening", env: { ...build.env, ...CHILD_ENV } });
}

/** `switchyard module` of `build`, resolved once it is ready. */
export function startModule(g: ProcessGroup, build: Build, name: string, instance: string, configPath: string): Promise<BenchProcess> {
  return g.spawn(instance, process.execPath, [...profileArgs(), build.cli, "module", name, "--instance", instance, "--config", configPath], { readyLine: "module ready", env: { ...build.env, ...CHILD_ENV } });
}
