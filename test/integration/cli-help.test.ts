import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, requireBuild, startCli, stopOpsCluster, until, writeOpsConfig, type CliProcess } from "../helpers/ops.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const COMMANDS = ["start", "module", "gateway", "agent", "ctl", "client", "bots", "web"];
const CTL_VERBS = ["status", "top", "stop", "scale", "add", "remove", "rollout", "kick", "call"];

describe("--help of every command and verb: usage on stdout, exit 0", () => {
  beforeAll(() => requireBuild());

  it("switchyard --help, -h and help", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = await cli(args);
      expect(r, args.join(" ")).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toMatch(/^usage: switchyard <command>/);
      for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c} `);
    }
  });

  it.each(COMMANDS)("switchyard %s --help (and help COMMAND)", async (command) => {
    const r = await cli([command, "--help"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(new RegExp(`^usage:\\s+switchyard ${command}\\b`));
    expect((await cli(["help", command])).stdout).toBe(r.stdout);
  });

  it.each(CTL_VERBS)("switchyard ctl %s --help: the verb's usage", async (verb) => {
    const r = await cli(["ctl", verb, "--help"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(new RegExp(`^usage:\\nswitchyard ctl ${verb}\\b`));
    expect(r.stdout).toContain("common options");
    // only this verb
    for (const other of CTL_VERBS.filter((v) => v !== verb)) expect(r.stdout).not.toContain(`switchyard ctl ${other} `);
  });

  it("help wins over missing arguments; a bad command line still exits 2 on stderr", async () => {
    expect(await cli(["client", "call", "--help"])).toMatchObject({ code: 0, stderr: "" });
    expect(await cli(["module", "-h"])).toMatchObject({ code: 0, stderr: "" });
    const noVerb = await cli(["ctl"]);
    expect(noVerb.code).toBe(2);
    expect(noVerb.stdout).toBe("");
    expect(noVerb.stderr).toContain("ctl needs a verb");
    const unknown = await cli(["nosuch", "--help"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "nosuch"');
  });
});

describe("switchyard start --ready-file", () => {
  let dir: string;
  let master: CliProcess | undefined;
  const pids = new Set<number>();

  beforeAll(() => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), "sy-ready-"));
  });

  afterAll(() => stopOpsCluster({ dir, master, pids }));

  it("the file holds the ready line once the cluster answers and is gone after the master exits", async () => {
    // With the web demo on, the master prints its address after the ready line: the file keeps the ready line.
    const { path, gwPort } = await writeOpsConfig(dir, "ready", { modules: { echo: { instances: 1 } }, web: { port: 0 } });
    const readyFile = join(dir, "cluster.ready");
    master = startCli(["start", "--config", path, "--ready-file", readyFile]);
    pids.add(master.proc.pid!);
    const line = await master.waitLine(/^switchyard ready:/, 30_000);
    expect(line).toBe(`switchyard ready: gateway gw-1 at 127.0.0.1:${gwPort} (2 instances)`);
    await master.waitLine(/^switchyard: web demo at /, 10_000);
    expect(readFileSync(readyFile, "utf8")).toBe(`${line}\n`);
    master.proc.kill("SIGINT");
    expect(await master.exited).toBe(0);
    expect(existsSync(readyFile)).toBe(false);
    await until("no temporary file left", 1_000, async () => (existsSync(`${readyFile}.tmp`) ? undefined : true));
  }, 60_000);
});
