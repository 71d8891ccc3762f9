import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../../src/config/cluster-config.js";

describe("cluster config: the web demo", () => {
  it("is off by default and takes a port (host defaults to loopback)", () => {
    expect(parseClusterConfig({}).web).toBeNull();
    expect(parseClusterConfig({ web: { port: 8080 } }).web).toEqual({ host: "127.0.0.1", port: 8080 });
  });

  it("names the key of a wrong value", () => {
    expect(() => parseClusterConfig({ web: { port: "x" } }, "c.json")).toThrow("c.json: web.port: Invalid input: expected number, received string");
    expect(() => parseClusterConfig({ web: { port: 1, path: "/" } }, "c.json")).toThrow("c.json: web.path: unknown key");
  });
});
