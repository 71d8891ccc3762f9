// `npm run bench`: runs every scenario one after the other (each starts and stops its own
// processes) and prints ONE table of all figures, also written as JSON to bench/results/.
// bench/rollout.ts (the operations engineer's) is included when it exists and exports run().
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Figure } from "./lib/report.js";
import { publish, step } from "./lib/report.js";

const SCENARIOS = ["echo-e2e", "ws-echo", "rank-route", "broadcast", "slow-clients", "chat", "scene", "idle-connections", "rollout", "gateway-rollout", "metrics-cost", "scrape"];

const figures: Figure[] = [];
const failed: string[] = [];
const only = process.env.BENCH_ONLY?.split(",");
for (const name of SCENARIOS) {
  if (only && !only.includes(name)) continue;
  const url = new URL(`./${name}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    step(`${name}: not there, skipped`);
    continue;
  }
  step(`=== ${name}`);
  try {
    const mod = (await import(url.href)) as { run?: () => Promise<Figure[]> };
    if (typeof mod.run !== "function") {
      step(`${name}: exports no run(), skipped`);
      continue;
    }
    figures.push(...(await mod.run()));
  } catch (err) {
    failed.push(name);
    step(`${name} failed: ${(err as Error).stack ?? String(err)}`);
  }
}
publish("all", figures, failed.length > 0 ? { failed: failed.join(",") } : {});
if (failed.length > 0) process.exitCode = 1;
