// Scenario: a rolling update under steady load. A master runs a gateway (echo is public here);
// `ctl add echo --instances 2` starts the module while a probe client waits for its first
// reply (time from `ctl add` to the first request served). Then SDK clients keep a steady load
// on echo.Echo, and `ctl rollout echo --from <2.0.0 file>` swaps both instances. Printed:
// requests sent, failed (must be 0), p99 before vs during the rollout, rollout duration, and
// that every reply after it came from 2.0.0. Baseline in the same run: p99 before the rollout.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { connect, type Client } from "../src/client/index.js";
import { SwitchyardError } from "../src/protocol/errors.js";
import { Histogram } from "./lib/load.js";
import { benchClusterConfig, benchSeconds, freePort, ROOT, sleep, withProcesses } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "rollout";
const CLI = join(ROOT, "bin", "switchyard.js");
const CLIENTS = 8;
const INFLIGHT_PER_CLIENT = 8;
const run$ = promisify(execFile);

type Phase = "before" | "during" | "after";

/** Steady load: every client keeps INFLIGHT_PER_CLIENT echo.Echo requests outstanding. */
function steadyLoad(clients: Client[]) {
  const hist: Record<Phase, Histogram> = { before: new Histogram(), during: new Histogram(), after: new Histogram() };
  let phase: Phase = "before";
  let running = true;
  let sent = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const versionsAfter = new Map<string, number>();
  const loops = clients.flatMap((c) =>
    Array.from({ length: INFLIGHT_PER_CLIENT }, async () => {
      while (running) {
        const p = phase;
        const t = performance.now();
        sent++;
        try {
          const r = await c.request("echo.Echo", { text: "r" });
          hist[p].record(performance.now() - t);
          if (p === "after") versionsAfter.set(r.version, (versionsAfter.get(r.version) ?? 0) + 1);
        } catch (err) {
          failed++;
          const code = err instanceof SwitchyardError ? err.code : String(err);
          failures.set(code, (failures.get(code) ?? 0) + 1);
          await sleep(1);
        }
      }
    }),
  );
  return {
    hist,
    setPhase(p: Phase) {
      phase = p;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return { sent, failed, failures, versionsAfter };
    },
  };
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const steadyMs = Math.max(2, benchSeconds()) * 1000;
  return withProcesses(async (g) => {
    const nats = await g.nats();
    const redis = await g.redis();
    const gwPort = await freePort();
    const cfgObj = benchClusterConfig(nats.url, redis.url, [{ id: "gw-r1", port: gwPort }], {}) as Record<string, unknown>;
    const cfg = g.config("cluster", { ...cfgObj, log: { level: "warn" }, runtimeDir: join(g.dir, "run") });
    const ctl = (...args: string[]) => run$(process.execPath, [CLI, "ctl", ...args, "--config", cfg], { timeout: 300_000 });
    step("master with one gateway, no module");
    await g.spawn("master", process.execPath, [CLI, "start", "--config", cfg], { readyLine: "switchyard ready", timeoutMs: 30_000 });

    const clients: Client[] = [];
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect({ port: gwPort, heartbeatMs: 0, requestTimeoutMs: 15_000 }));
    try {
      step("ctl add echo --instances 2, probing until the first reply");
      let firstServedAt = 0;
      let probing = true;
      const probe = (async () => {
        while (probing) {
          try {
            await clients[0]!.request("echo.Echo", { text: "probe" });
            firstServedAt = performance.now();
            return;
          } catch {
            await sleep(2);
          }
        }
      })();
      const addAt = performance.now();
      const added = await ctl("add", "echo", "--instances", "2");
      await probe;
      probing = false;
      const addToFirstMs = firstServedAt - addAt;
      const addCommandMs = performance.now() - addAt;
      step(added.stdout.trim());

      const v2 = join(g.dir, "echo-v2.js");
      writeFileSync(
        v2,
        `import { defineModule } from ${JSON.stringify(pathToFileURL(join(ROOT, "dist", "src", "module", "index.js")).href)};
export default defineModule({ name: "echo" }, { version: "2.0.0", handlers: {
  Echo(ctx, req) { return { text: req.text, data: req.data, servedBy: ctx.module.instanceId, version: ctx.module.version }; },
  async Sleep(ctx, req) { await new Promise((r) => setTimeout(r, Math.min(req.ms, 60000))); return { text: "slept", servedBy: ctx.module.instanceId, version: ctx.module.version }; },
  WhoAmI(ctx) { const s = ctx.session; return { uid: s?.uid ?? "", sid: s?.sid ?? 0, gatewayId: s?.gatewayId ?? "" }; },
} });
`,
      );

      step(`steady load (${CLIENTS} clients × ${INFLIGHT_PER_CLIENT} in flight), ${steadyMs} ms before the rollout`);
      const load = steadyLoad(clients);
      await sleep(steadyMs);
      load.setPhase("during");
      const rollAt = performance.now();
      const rolled = await ctl("rollout", "echo", "--from", v2);
      const rolloutMs = performance.now() - rollAt;
      step(rolled.stdout.trim());
      load.setPhase("after");
      await sleep(1_000);
      const res = await load.stop();
      const newOnly = [...res.versionsAfter.keys()].every((v) => v === "2.0.0");
      if (res.failed > 0) step(`failures: ${[...res.failures].map(([c, n]) => `${c}: ${n}`).join(", ")}`);
      step(`versions after the rollout: ${[...res.versionsAfter].map(([v, n]) => `${v}: ${n}`).join(", ")}`);
      const before = load.hist.before.percentile(0.99);
      return [
        { scenario: SCENARIO, name: "requests sent", value: res.sent, unit: "" },
        { scenario: SCENARIO, name: "requests failed", value: res.failed, unit: "", target: "= 0", met: res.failed === 0 },
        { scenario: SCENARIO, name: "p99 before the rollout", value: before, unit: "ms" },
        { scenario: SCENARIO, name: "p99 during the rollout", value: load.hist.during.percentile(0.99), unit: "ms", baseline: { name: "p99 before", value: before } },
        { scenario: SCENARIO, name: "rollout of 2 instances (ctl rollout wall time)", value: rolloutMs, unit: "ms" },
        { scenario: SCENARIO, name: "replies after the rollout from 2.0.0 only", value: newOnly ? 1 : 0, unit: "", target: "= 1", met: newOnly },
        { scenario: SCENARIO, name: "ctl add → first request served", value: addToFirstMs, unit: "ms" },
        { scenario: SCENARIO, name: "ctl add → command returned (2 instances ready)", value: addCommandMs, unit: "ms" },
      ];
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
