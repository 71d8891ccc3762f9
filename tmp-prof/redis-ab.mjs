import { withProcesses, sleep } from "/work/wt-order/dist/bench/lib/processes.js";
import { createRedisClient } from "/work/wt-order/dist/src/redis/index.js";
import { BoardStore } from "/work/wt-order/dist/modules/rank/board-store.js";
import { Redis } from "ioredis";
async function load(redis, inflight, ms) {
  const store = new BoardStore(redis);
  let ok = 0, stop = false, measuring = false;
  const loop = async (i) => { let n = 0; while (!stop) { if ((n++ + i) % 2 === 0) await store.submit("b", `u${i % 100}`, (n * 7919 + i) % 1000, 1); else await store.top("b", 10, "cur"); if (measuring) ok++; } };
  const loops = Array.from({ length: inflight }, (_, i) => loop(i));
  await sleep(500); measuring = true; const t0 = performance.now(); const c0 = process.cpuUsage(); await sleep(ms); measuring = false;
  const secs = (performance.now() - t0) / 1000; const cu = process.cpuUsage(c0); stop = true; await Promise.all(loops);
  return `${Math.round(ok / secs)} rps, client CPU ${((cu.user + cu.system) / ok).toFixed(1)} µs/op`;
}
await withProcesses(async (g) => {
  const r = await g.redis();
  for (const inflight of [1600, 100]) for (let k = 0; k < 2; k++) {
    const a = createRedisClient({ url: r.url }); console.log(inflight, "auto ", await load(a, inflight, 2000)); a.disconnect();
    const b = new Redis(r.url); console.log(inflight, "plain", await load(b, inflight, 2000)); b.disconnect();
  }
});
