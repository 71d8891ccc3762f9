import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "../../../src/config/cluster-config.js";
import { CHILD_SEMI_SPACE_MIB, childNodeOptions, commandArgs, displayAddress, instanceIdFor, newInstanceId, planProcesses, readyLine } from "../../../src/process/process-plan.js";

const cfg = parseClusterConfig({
  gateways: [
    { id: "gw-1", host: "0.0.0.0", port: 3250 },
    { id: "gw-2", host: "10.0.0.5", port: 3251 },
  ],
  modules: { login: { instances: 2 }, rank: { instances: 1 }, team: { instances: 0 } },
});

describe("planProcesses", () => {
  it("plans every gateway, then every module instance, with stable keys", () => {
    const slots = planProcesses(cfg);
    expect(slots.map((s) => s.key)).toEqual(["gateway/gw-1", "gateway/gw-2", "login/0", "login/1", "rank/0"]);
    expect(slots[0]).toMatchObject({ kind: "gateway", module: "gateway", gatewayId: "gw-1", listen: { host: "0.0.0.0", port: 3250 } });
    expect(slots[2]).toMatchObject({ kind: "module", module: "login" });
  });

  it("builds the command line of each kind", () => {
    const [gw, , login] = planProcesses(cfg);
    expect(commandArgs(gw!, "gw-1", "/etc/c.json")).toEqual(["gateway", "--id", "gw-1", "--config", "/etc/c.json"]);
    expect(commandArgs(login!, "login-3f9a", "/etc/c.json")).toEqual(["module", "login", "--instance", "login-3f9a", "--config", "/etc/c.json"]);
  });
});

describe("instance ids", () => {
  it("gives modules NAME-<4 hex>, avoiding ids in use", () => {
    const id = newInstanceId("login");
    expect(id).toMatch(/^login-[0-9a-f]{4}$/);
    const taken = new Set<string>();
    for (let i = 0; i < 200; i++) taken.add(newInstanceId("rank", taken));
    expect(taken.size).toBe(200);
  });

  it("gives a gateway its configured id", () => {
    expect(instanceIdFor(planProcesses(cfg)[1]!)).toBe("gw-2");
  });
});

describe("readyLine", () => {
  it("names every gateway with a reachable address and counts every process", () => {
    expect(readyLine(planProcesses(cfg))).toBe("switchyard ready: gateway gw-1 at 127.0.0.1:3250, gateway gw-2 at 10.0.0.5:3251 (5 instances)");
  });

  it("matches the documented single-gateway line", () => {
    const one = parseClusterConfig({ gateways: [{ id: "gw-1", host: "127.0.0.1", port: 3250 }], modules: { login: { instances: 2 } } });
    expect(readyLine(planProcesses(one))).toBe("switchyard ready: gateway gw-1 at 127.0.0.1:3250 (3 instances)");
  });

  it("brackets IPv6 hosts", () => {
    expect(displayAddress({ host: "::1", port: 1 })).toBe("[::1]:1");
    expect(displayAddress({ host: "::", port: 2 })).toBe("127.0.0.1:2");
  });
});

describe("childNodeOptions", () => {
  it("adds the semi-space size to the master's own NODE_OPTIONS", () => {
    expect(childNodeOptions({})).toBe(`--max-semi-space-size=${CHILD_SEMI_SPACE_MIB}`);
    expect(childNodeOptions({ NODE_OPTIONS: "--enable-source-maps" })).toBe(`--enable-source-maps --max-semi-space-size=${CHILD_SEMI_SPACE_MIB}`);
  });

  it("keeps an operator's own choice of semi-space size", () => {
    expect(childNodeOptions({ NODE_OPTIONS: "--max-semi-space-size=16" })).toBe("--max-semi-space-size=16");
  });
});
