import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { DEFAULT_CONFIG, frameworkRoot, projectRoot, type ClusterConfig } from "../../../src/config/cluster-config.js";
import { findModuleEntry, resolveModuleEntry } from "../../../src/config/module-entry.js";
import { protoDirs } from "../../../src/proto/registry.js";

const config = (modules: ClusterConfig["modules"] = {}): ClusterConfig => ({ ...DEFAULT_CONFIG, modules });

describe("a project outside the framework", () => {
  let project: string;
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), "sy-project-"));
    process.env.SWITCHYARD_PROJECT = project;
  });
  afterEach(() => {
    delete process.env.SWITCHYARD_PROJECT;
    rmSync(project, { recursive: true, force: true });
  });

  test("a standard module name falls back to the framework's compiled module", () => {
    expect(projectRoot()).toBe(project);
    expect(resolveModuleEntry("login", config())).toBe(join(frameworkRoot(), "dist", "modules", "login", "index.js"));
  });

  test("the project's compiled module of that name comes first", () => {
    const own = join(project, "dist", "modules", "login", "index.js");
    mkdirSync(join(project, "dist", "modules", "login"), { recursive: true });
    writeFileSync(own, "export default {}\n");
    expect(resolveModuleEntry("login", config())).toBe(own);
  });

  test("modules.<name>.entry is relative to the project root", () => {
    expect(findModuleEntry("greeter", config({ greeter: { instances: 1, entry: "lib/greeter.js" } })).tried).toEqual([join(project, "lib", "greeter.js")]);
  });

  test("no code anywhere: NOT_FOUND naming every path tried", () => {
    expect(() => resolveModuleEntry("nosuch", config())).toThrow(
      `module nosuch: no code at ${join(project, "dist", "modules", "nosuch", "index.js")} or ${join(frameworkRoot(), "dist", "modules", "nosuch", "index.js")}`,
    );
  });

  test("proto is read from the framework's proto/ plus the project's", () => {
    expect(protoDirs()).toEqual([join(frameworkRoot(), "proto")]);
    mkdirSync(join(project, "proto"));
    expect(protoDirs()).toEqual([join(frameworkRoot(), "proto"), join(project, "proto")]);
  });
});

test("in the framework's repository both roots are one folder and proto/ is read once", () => {
  expect(projectRoot()).toBe(frameworkRoot());
  expect(protoDirs()).toEqual([join(frameworkRoot(), "proto")]);
});
