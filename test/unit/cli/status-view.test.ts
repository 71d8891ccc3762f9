import { describe, expect, it } from "vitest";
import type { InstanceStatus } from "../../../src/bus/discovery.js";
import { formatUptime, mergeStatus, renderStatusTable } from "../../../src/cli/status-view.js";
import type { MasterStatus, SupervisedStatus } from "../../../src/master/status.js";

const inst = (module: string, instance: string, extra: Partial<InstanceStatus> = {}): InstanceStatus => ({
  kind: module === "gateway" ? "gateway" : "module",
  module,
  instance,
  version: "1.0.0",
  pid: 100,
  host: "h",
  startedAt: 1_000,
  state: "ready",
  served: 5,
  errors: 1,
  inflight: 0,
  ...extra,
});

const slot = (key: string, module: string, instance: string, extra: Partial<SupervisedStatus> = {}): SupervisedStatus => ({
  key,
  kind: module === "gateway" ? "gateway" : "module",
  module,
  instance,
  pid: 200,
  state: "ready",
  startedAt: 1_000,
  restarts: 0,
  recentCrashes: 0,
  crashLooping: false,
  lastExit: null,
  nextStartAt: null,
  ...extra,
}) as SupervisedStatus;

const master = (processes: SupervisedStatus[]): MasterStatus => ({
  pid: 1,
  host: "m",
  startedAt: 0,
  uptimeMs: 0,
  configPath: "/c.json",
  natsUrl: "nats://x",
  http: null,
  embedded: [],
  processes,
});

describe("mergeStatus", () => {
  it("lists instances alone when no master answers", () => {
    const rows = mergeStatus([inst("login", "login-b"), inst("gateway", "gw-1", { sessions: 3 }), inst("login", "login-a")], null);
    expect(rows.map((r) => r.instance)).toEqual(["gw-1", "login-a", "login-b"]);
    expect(rows[0]).toMatchObject({ sessions: 3, restarts: null, supervised: false });
  });

  it("adds restarts and crash loops from the master, and rows for slots that do not answer", () => {
    const rows = mergeStatus(
      [inst("login", "login-a")],
      master([slot("login/0", "login", "login-a", { restarts: 2 }), slot("login/1", "login", "login-c", { state: "backoff", pid: null, crashLooping: true, restarts: 7 })]),
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ instance: "login-a", restarts: 2, supervised: true, answering: true, state: "ready" });
    expect(rows[1]).toMatchObject({ instance: "login-c", state: "crash-loop", pid: null, host: "m", answering: false, served: null });
  });
});

describe("renderStatusTable", () => {
  it("aligns columns under a header", () => {
    const text = renderStatusTable(mergeStatus([inst("login", "login-a"), inst("gateway", "gw-1", { sessions: 12 })], null), 66_000);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^MODULE\s+INSTANCE\s+VERSION\s+STATE\s+PID\s+HOST\s+UPTIME\s+SERVED\s+ERRORS\s+INFLIGHT\s+SESSIONS\s+RESTARTS$/);
    expect(lines[1]).toMatch(/^gateway\s+gw-1\s+1\.0\.0\s+ready\s+100\s+h\s+1m05s\s+5\s+1\s+0\s+12\s+-$/);
    expect(lines[0]!.indexOf("INSTANCE")).toBe(lines[2]!.indexOf("login-a"));
  });

  it("formats uptimes", () => {
    expect([0, 12_000, 247_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatUptime)).toEqual(["0s", "12s", "4m07s", "2h05m", "3d04h"]);
  });
});
