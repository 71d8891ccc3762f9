// Scenario: the cost of one scrape of the whole default cluster (config/cluster.json's shape:
// 1 gateway, 2 × login, rank, team, game, run by a master): GET /metrics on the master, which
// gathers every process's registry over NATS and renders one page. Sequential scrapes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, ROOT, freePort, withProcesses } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "scrape";
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 20);

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  return withProcesses(async (g) => {
    const base = JSON.parse(readFileSync(join(ROOT, "config", "cluster.json"), "utf8")) as { modules: Record<string, object>; gateway: object };
    const [natsPort, redisPort, gwPort, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const cfg = g.config("cluster", {
      ...base,
      nats: { url: `nats://127.0.0.1:${natsPort}`, embedded: true },
      redis: { url: `redis://127.0.0.1:${redisPort}`, embedded: true },
      runtimeDir: join(g.dir, "run"),
      log: { level: "warn" },
      gateways: [{ id: "gw-1", host: "127.0.0.1", port: gwPort }],
      master: { httpPort },
    });
    step("starting the default cluster shape under a master");
    await g.spawn("master", process.execPath, [CLI, "start", "--config", cfg], { readyLine: "switchyard ready:", timeoutMs: 90_000 });
    const url = `http://127.0.0.1:${httpPort}/metrics`;
    const times: number[] = [];
    let bytes = 0;
    let processes = 0;
    for (let i = 0; i < SCRAPES + 1; i++) {
      const began = performance.now();
      const text = await (await fetch(url)).text();
      const ms = performance.now() - began;
      if (i === 0) continue; // the first one warms the JIT of every process
      times.push(ms);
      bytes = text.length;
      processes = new Set([...text.matchAll(/^process_resident_memory_bytes\{[^}]*instance="([^"]+)"/gm)].map((m) => m[1])).size;
    }
    times.sort((a, b) => a - b);
    step(`scrapes (ms): ${times.map((t) => t.toFixed(1)).join(" ")}`);
    return [
      { scenario: SCENARIO, name: `GET /metrics of the default cluster (${processes} processes incl. the master), median of ${SCRAPES}`, value: times[Math.floor(times.length / 2)]!, unit: "ms" },
      { scenario: SCENARIO, name: "GET /metrics slowest", value: times.at(-1)!, unit: "ms" },
      { scenario: SCENARIO, name: "GET /metrics page size", value: bytes / 1024, unit: "KiB" },
    ];
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
