import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Client } from "../../src/client/index.js";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { ctl, ctlStatus, loggedIn, startOpsCluster, stopOpsCluster, type CliProcess } from "../helpers/ops.js";
import { findSamples, parsePrometheusText, sampleValue, type PromPage } from "../helpers/prometheus-text.js";

const ECHOES = 25;
const REFUSED = 3;

describe("GET /metrics on the master: one scrape target for the whole cluster", () => {
  let dir: string | undefined;
  let master: CliProcess | undefined;
  const pids = new Set<number>();
  const clients: Client[] = [];
  let url: string;
  let page: PromPage;
  let echoInstance: string;
  let loginInstance: string;
  let config: string;

  beforeAll(async () => {
    const ops = await startOpsCluster(
      "sy-metrics-",
      { modules: { login: { instances: 1, settings: { scryptN: 1024 } }, echo: { instances: 1, ordered: false } }, master: { httpPort: 0 } },
      pids,
    );
    dir = ops.dir;
    master = ops.master;
    const status = await ctlStatus(ops.config);
    url = status.master!.http!;
    echoInstance = status.instances.find((i) => i.module === "echo")!.instance;
    loginInstance = status.instances.find((i) => i.module === "login")!.instance;
    config = ops.config;

    const anonymous = await connect({ host: "127.0.0.1", port: ops.gwPort, heartbeatMs: 0 });
    clients.push(anonymous);
    for (let i = 0; i < REFUSED; i++) {
      await expect(anonymous.request("echo.Echo", { text: "before login" })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    }
    const err = await anonymous.request("login.Register", { username: "x", password: "password-1" }).catch((e: unknown) => e);
    expect((err as SwitchyardError).code).toBe("BAD_REQUEST");
    const user = await loggedIn(ops.gwPort, "meter");
    clients.push(user);
    for (let i = 0; i < ECHOES; i++) await user.request("echo.Echo", { text: `n${i}` });

    const began = performance.now();
    const res = await fetch(`${url}metrics`);
    const text = await res.text();
    console.log(`scrape of ${url}metrics: ${(performance.now() - began).toFixed(1)} ms, ${text.length} bytes`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    page = parsePrometheusText(text);
  }, 60_000);

  afterAll(async () => {
    await stopOpsCluster({ dir, master, pids, clients });
  });

  it("counts every forwarded request and its end-to-end latency at the gateway, per route", () => {
    const gw = { module: "gateway", instance: "gw-1" };
    expect(sampleValue(page, "switchyard_gateway_requests_total", { ...gw, route: "echo.Echo" })).toBe(ECHOES);
    expect(sampleValue(page, "switchyard_gateway_request_duration_seconds_count", { ...gw, route: "echo.Echo" })).toBe(ECHOES);
    expect(sampleValue(page, "switchyard_gateway_request_duration_seconds_bucket", { ...gw, route: "echo.Echo", le: "+Inf" })).toBe(ECHOES);
    // two Registers (one refused by login) and one Login
    expect(sampleValue(page, "switchyard_gateway_requests_total", { ...gw, route: "login.Register" })).toBe(2);
    expect(sampleValue(page, "switchyard_gateway_requests_total", { ...gw, route: "login.Login" })).toBe(1);
    expect(sampleValue(page, "switchyard_gateway_errors_total", { ...gw, route: "login.Register", code: "BAD_REQUEST" })).toBe(1);
    expect(findSamples(page, "switchyard_gateway_errors_total", { route: "echo.Echo" })).toEqual([]);
  });

  it("counts refusals per reason, connections per transport and bound sessions", () => {
    const gw = { module: "gateway", instance: "gw-1" };
    expect(sampleValue(page, "switchyard_gateway_refusals_total", { ...gw, reason: "unauthenticated" })).toBe(REFUSED);
    expect(sampleValue(page, "switchyard_gateway_connections_opened_total", { ...gw, transport: "tcp" })).toBe(2);
    expect(sampleValue(page, "switchyard_gateway_connections", { ...gw, transport: "tcp" })).toBe(2);
    expect(sampleValue(page, "switchyard_gateway_sessions_bound", { ...gw, transport: "tcp" })).toBe(1);
    expect(sampleValue(page, "switchyard_gateway_inflight", gw)).toBe(0);
  });

  it("counts handled requests, errors and handler time at the module instance", () => {
    const echo = { module: "echo", instance: echoInstance };
    expect(sampleValue(page, "switchyard_module_requests_total", { ...echo, route: "echo.Echo" })).toBe(ECHOES);
    expect(sampleValue(page, "switchyard_module_handler_duration_seconds_count", { ...echo, route: "echo.Echo" })).toBe(ECHOES);
    // every route of the module is there from the start, at 0
    expect(sampleValue(page, "switchyard_module_requests_total", { ...echo, route: "echo.Sleep" })).toBe(0);
    expect(sampleValue(page, "switchyard_module_handler_duration_seconds_count", { ...echo, route: "echo.Sleep" })).toBe(0);
    expect(findSamples(page, "switchyard_module_errors_total", { ...echo })).toEqual([]);
    // cumulative buckets end at the count
    const buckets = findSamples(page, "switchyard_module_handler_duration_seconds_bucket", { ...echo, route: "echo.Echo" }).map((b) => b.value);
    expect(buckets).toHaveLength(15);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(ECHOES);
    expect(sampleValue(page, "switchyard_module_requests_total", { module: "login", route: "login.Register" })).toBe(2);
    expect(sampleValue(page, "switchyard_module_errors_total", { module: "login", route: "login.Register", code: "BAD_REQUEST" })).toBe(1);
  });

  it("has every process's default metrics, NATS reconnects and the master's supervision, each family once", () => {
    const modules = findSamples(page, "process_resident_memory_bytes").map((s) => s.labels.module).sort();
    expect(modules).toEqual(["echo", "gateway", "login", "master"]);
    expect(findSamples(page, "switchyard_nats_reconnects_total").map((s) => s.value)).toEqual([0, 0, 0, 0]);
    expect(findSamples(page, "nodejs_eventloop_lag_p99_seconds")).toHaveLength(4);
    expect(sampleValue(page, "switchyard_master_processes", { module_name: "echo", state: "ready" })).toBe(1);
    expect(sampleValue(page, "switchyard_master_scrape_instances")).toBe(3);
    for (const [name, n] of page.typeLines) expect({ name, n }).toEqual({ name, n: 1 });
  });

  it("ctl top --once prints every instance, the routes seen and the sessions per gateway", async () => {
    const r = await ctl(config, ["top", "--once"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^switchyard top — master pid \d+ on .+, window \d+\.\d s$/);
    expect(lines.find((l) => l.startsWith("MODULE "))).toMatch(/MODULE\s+INSTANCE\s+VERSION\s+HOST\s+STATE\s+RPS\s+SERVED/);
    for (const [module, instance] of [["echo", echoInstance], ["gateway", "gw-1"], ["login", loginInstance]] as const) {
      expect(lines.some((l) => new RegExp(`^${module}\\s+${instance}\\s+\\S+\\s+\\S+\\s+ready\\s`).test(l))).toBe(true);
    }
    expect(lines.some((l) => /^echo\.Echo\s+\d+\.\d\s/.test(l))).toBe(true);
    expect(lines.some((l) => /^gw-1\s+2\s+1$/.test(l))).toBe(true);
  });
});
