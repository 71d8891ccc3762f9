// Scenario: every gateway rolled out under load. A master runs 2 gateways, login, echo and chat;
// logged-in SDK players (half on each gateway) keep echo.Echo requests outstanding and are
// members of one chat room, a talker says numbered lines there (channel pushes) and a teller
// sends every player numbered private messages (point pushes); a notifier says numbered room lines
// as NOTIFYs (a NOTIFY lost or sent twice in a move shows as a room push missing or doubled). Then `ctl rollout gateway`
// replaces both gateways, one after the other, on their ports. Printed: requests sent and
// failed (must be 0), pushes expected, lost and duplicated (must be 0), p99 before vs during
// the rollout, the rollout's wall time and per gateway the time to a ready replacement and
// to the old one's exit. Baseline in the same run: p99 before the rollout.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { connect, type Client } from "../src/client/index.js";
import { startMoveLoad, type LoadUser } from "./lib/move-load.js";
import { benchClusterConfig, benchSeconds, CLI, freePort, sleep, withProcesses } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "gateway-rollout";
const PLAYERS = 8;
const REQUESTS_PER_PLAYER = 8;
const run$ = promisify(execFile);

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const steadyMs = Math.max(2, benchSeconds()) * 1000;
  return withProcesses(async (g) => {
    const nats = await g.nats();
    const redis = await g.redis();
    const ports = [await freePort(), await freePort()];
    const base = benchClusterConfig(nats.url, redis.url, [{ id: "gw-a", port: ports[0]! }, { id: "gw-b", port: ports[1]! }], {
      login: { instances: 1, settings: { scryptN: 1024 } },
      echo: { instances: 1, ordered: false },
      chat: { instances: 1, settings: { maxMessagesPerWindow: 1_000_000_000, rateWindowSeconds: 1 } },
    }) as Record<string, unknown> & { gateway: Record<string, unknown> };
    const cfg = g.config("cluster", { ...base, log: { level: "warn" }, runtimeDir: join(g.dir, "run"), master: { httpPort: -1 } });
    const ctl = (...args: string[]) => run$(process.execPath, [CLI, "ctl", ...args, "--config", cfg], { timeout: 300_000 });
    step("master with 2 gateways, login, echo, chat");
    await g.spawn("master", process.execPath, [CLI, "start", "--config", cfg], { readyLine: "switchyard ready", timeoutMs: 60_000 });

    const users: LoadUser[] = [];
    const clients: Client[] = [];
    try {
      for (let i = 0; i < PLAYERS + 3; i++) {
        const c = await connect({ host: "127.0.0.1", port: ports[i % 2]!, heartbeatMs: 0, requestTimeoutMs: 30_000, reconnect: { minDelayMs: 50, maxDelayMs: 500, maxAttempts: 100, windowMs: 30_000 } });
        clients.push(c);
        const username = `roll${i}`;
        const { uid } = await c.request("login.Register", { username, password: "password-1" });
        await c.request("login.Login", { username, password: "password-1" });
        users.push({ client: c, uid });
      }
      step(`load: ${PLAYERS} players × ${REQUESTS_PER_PLAYER} echo requests in flight, a room talker, a private teller and a NOTIFY talker; ${steadyMs} ms before the rollout`);
      const load = await startMoveLoad({ players: users.slice(0, PLAYERS), talker: users[PLAYERS]!, teller: users[PLAYERS + 1]!, notifier: users[PLAYERS + 2]!, room: "bench", requestsPerPlayer: REQUESTS_PER_PLAYER, pushGapMs: 0 });
      await sleep(steadyMs);
      load.setPhase("during");
      const rollAt = performance.now();
      const rolled = await ctl("rollout", "gateway");
      const rolloutMs = performance.now() - rollAt;
      step(rolled.stdout.trim());
      load.setPhase("after");
      await sleep(1_000);
      const out = await load.stop();
      const lost = out.players.reduce((n, p) => n + p.roomMissing + p.tellMissing + p.notifyMissing, 0);
      const duplicated = out.players.reduce((n, p) => n + p.roomDuplicated + p.tellDuplicated + p.notifyDuplicated, 0);
      const moves = out.players.reduce((n, p) => n + p.reconnects, 0);
      if (out.failures.length > 0) step(`failures: ${JSON.stringify(out.failures.slice(0, 5))}`);
      const per = [...rolled.stdout.matchAll(/ready (\d+\.\d) s, old one drained (\d+\.\d) s/g)].map((m) => [Number(m[1]) * 1000, Number(m[2]) * 1000] as const);
      const before = out.p99.before;
      return [
        { scenario: SCENARIO, name: "requests sent", value: out.requests, unit: "" },
        { scenario: SCENARIO, name: "requests failed", value: out.failures.length, unit: "", target: "= 0", met: out.failures.length === 0 },
        { scenario: SCENARIO, name: "pushes expected (room lines by request and by NOTIFY, private, all players)", value: out.pushesSent, unit: "" },
        { scenario: SCENARIO, name: "pushes lost", value: lost, unit: "", target: "= 0", met: lost === 0 },
        { scenario: SCENARIO, name: "pushes duplicated", value: duplicated, unit: "", target: "= 0", met: duplicated === 0 },
        { scenario: SCENARIO, name: "player moves (KICK MOVED → resumed)", value: moves, unit: "" },
        { scenario: SCENARIO, name: "p99 before the rollout", value: before, unit: "ms" },
        { scenario: SCENARIO, name: "p99 during the rollout", value: out.p99.during, unit: "ms", baseline: { name: "p99 before", value: before } },
        { scenario: SCENARIO, name: "rollout of 2 gateways (ctl rollout gateway wall time)", value: rolloutMs, unit: "ms" },
        ...per.flatMap(([ready, drained], i): Figure[] => [
          { scenario: SCENARIO, name: `gateway ${i + 1}: replacement ready`, value: ready, unit: "ms" },
          { scenario: SCENARIO, name: `gateway ${i + 1}: old one drained and exited`, value: drained, unit: "ms" },
        ]),
      ];
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
