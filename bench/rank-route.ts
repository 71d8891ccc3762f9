// Scenario: a realistic route. Logged-in clients call rank.Submit and rank.Top (half each)
// through a gateway to the rank module, which works against Redis; same loads as echo-e2e.
// Baselines in the same run: raw `nc.request()` at 256 in flight (1 responder process); the fair
// one, raw ioredis running the rank module's own BoardStore scripts (same keys, same Lua, same
// client factory, half Submit half Top of 10) with as many in flight as the route load has; and
// the older, unfair one kept for comparison: ioredis ZADD / ZREVRANGE 0 9 at 256 in flight (plain
// commands, not the module's scripts). BENCH_BEFORE_ROOT=<another built checkout> also measures
// its gateway and rank module in the same run ("before" rows).
import { performance } from "node:perf_hooks";
import { loadProto } from "../src/proto/registry.js";
import { createRedisClient } from "../src/redis/index.js";
import { rank as rankProto } from "../src/generated/proto.js";
import { BoardStore } from "../modules/rank/board-store.js";
import { PacketKind } from "../src/protocol/packet.js";
import { ECHO_BODY } from "./echo-e2e.js";
import { Histogram, runWireLoad, type LoadResult } from "./lib/load.js";
import { runNatsRequestLoad } from "./lib/nats-load.js";
import { benchBuilds, startGateway, startModule } from "./lib/builds.js";
import { CpuMeter, benchClusterConfig, benchSeconds, freePort, sleep, withProcesses, type BenchProcess } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "rank-route";
const BOARD = "bench";
const LOADS = [
  { connections: 100, inflight: 16 },
  { connections: 100, inflight: 1 },
] as const;

/**
 * `loops` closed loops, each awaiting `op(loop, n)` (its n-th call) before the next; counts and
 * times the calls that finish inside the `measureMs` window after `warmupMs`.
 */
async function runClosedLoops(loops: number, op: (loop: number, n: number) => Promise<unknown>, warmupMs: number, measureMs: number): Promise<LoadResult> {
  const hist = new Histogram();
  let ok = 0;
  let measuring = false;
  let stopping = false;
  const loop = async (i: number): Promise<void> => {
    for (let n = 0; !stopping; n++) {
      const t = performance.now();
      await op(i, n);
      if (measuring) {
        ok++;
        hist.record(performance.now() - t);
      }
    }
  };
  const running = Array.from({ length: loops }, (_, i) => loop(i));
  await sleep(warmupMs);
  hist.reset();
  ok = 0;
  measuring = true;
  const t0 = performance.now();
  await sleep(measureMs);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopping = true;
  await Promise.all(running);
  return { rps: ok / seconds, p50: hist.percentile(0.5), p99: hist.percentile(0.99), ok, errors: {}, seconds };
}

/** 256 loops of ZADD / ZREVRANGE through one ioredis connection, as the raw Redis baseline. */
async function runRedisLoad(url: string, warmupMs: number, measureMs: number): Promise<LoadResult> {
  const redis = createRedisClient({ url });
  const op = (i: number, n: number): Promise<unknown> =>
    (n + i) % 2 === 0 ? redis.zadd("raw:board", Math.random() * 1000, `u${i}`) : redis.zrevrange("raw:board", 0, 9, "WITHSCORES");
  const result = await runClosedLoops(256, op, warmupMs, measureMs);
  redis.disconnect();
  return result;
}

/**
 * `inflight` loops of the rank module's own work on one ioredis connection made by the project's
 * client factory, as the module has: BoardStore.submit (the Submit script) and BoardStore.top
 * (the Top script), half each, for `users` uids. What the route adds over it is Switchyard's cost.
 */
async function runBoardStoreLoad(url: string, inflight: number, users: number, warmupMs: number, measureMs: number): Promise<LoadResult> {
  const redis = createRedisClient({ url });
  const store = new BoardStore(redis);
  const op = (i: number, n: number): Promise<unknown> =>
    (n + i) % 2 === 0
      ? store.submit("rawbench", `raw-${i % users}`, 1 + (((n + 1) * 7919 + i) % 1000), rankProto.Policy.POLICY_BEST)
      : store.top("rawbench", 10, "cur");
  const result = await runClosedLoops(inflight, op, warmupMs, measureMs);
  redis.disconnect();
  return result;
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const measureMs = benchSeconds() * 1000;
  const warmupMs = Math.min(2_000, measureMs / 2);
  const ordered = process.env.BENCH_RANK_ORDERED !== "0";
  const proto = loadProto();
  const submit = proto.message<object>("rank.SubmitRequest");
  const top = proto.message<object>("rank.TopRequest");
  const register = proto.message<object>("login.RegisterRequest");
  const login = proto.message<object>("login.LoginRequest");
  return withProcesses(async (g) => {
    const [nats, redis] = await Promise.all([g.nats(), g.redis()]);
    const figures: Figure[] = [];

    step("raw baselines: nc.request() 256 in flight, ioredis 256 in flight");
    const responder = await g.helper("nats-responder", "nats-responder.js", [nats.url, "bench.echo"]);
    const raw = await runNatsRequestLoad({ url: nats.url, subject: "bench.echo", payload: ECHO_BODY, inflight: 256, warmupMs, measureMs, noAsyncTraces: false });
    await responder.stop();
    const rawRedis = await runRedisLoad(redis.url, warmupMs, measureMs);

    const fair = new Map<string, LoadResult>();
    for (const l of LOADS) fair.set(`${l.connections}×${l.inflight}`, await runBoardStoreLoad(redis.url, l.connections * l.inflight, l.connections, warmupMs, measureMs));

    let users = 0;
    for (const build of benchBuilds()) {
      const tag = build.label === "after" ? "b" : "o";
      const prefix = build.label === "after" ? "" : "before: ";
      step(`${prefix}gateway + login + rank module (ordered: ${ordered})`);
      const gwPort = await freePort();
      const cfg = g.config(
        `cluster-${tag}`,
        benchClusterConfig(nats.url, redis.url, [{ id: `gw-${tag}1`, port: gwPort }], {
          login: { instances: 1, settings: { scryptN: 1024 } },
          rank: { instances: 1, ordered, settings: { boards: { [BOARD]: { policy: "best", clientSubmit: { min: 0, max: 1_000_000 } } } } },
        }),
      );
      const started: BenchProcess[] = [];
      started.push(await startModule(g, build, "login", `login-${tag}1`, cfg));
      const rankProc = await startModule(g, build, "rank", `rank-${tag}1`, cfg);
      started.push(rankProc);
      const gw = await startGateway(g, build, `gw-${tag}1`, cfg);
      started.push(gw);
      for (const l of LOADS) {
        const cpu = new CpuMeter([gw.pid, rankProc.pid]);
        const res = await runWireLoad({
          port: gwPort,
          ...l,
          // Half Submit, half Top at every load: by slot and connection (at 1 in flight per
          // connection the slot is always 0; by slot alone 100×1 would be all Submits).
          request: (slot, conn) =>
            (slot + conn) % 2 === 0
              ? { route: "rank.Submit", body: submit.encode({ board: BOARD, score: 1 + (((slot + 16 * conn) * 7919) % 1000) }) }
              : { route: "rank.Top", body: top.encode({ board: BOARD, n: 10 }) },
          warmupMs,
          measureMs,
          onWindow: (e) => cpu.edge(e),
          async prepare(call) {
            const creds = { username: `bench-${process.pid}-${users++}`, password: "bench-password-1" };
            const r = await call("login.Register", register.encode(creds));
            if (r.kind !== PacketKind.RESPONSE) throw new Error(`register failed: ${r.code} ${r.message}`);
            const li = await call("login.Login", login.encode(creds));
            if (li.kind !== PacketKind.RESPONSE) throw new Error(`login failed: ${li.code} ${li.message}`);
          },
        });
        const errs = Object.entries(res.errors);
        if (errs.length > 0) step(`errors at ${l.connections}×${l.inflight}: ${errs.map(([c, n]) => `code ${c}: ${n}`).join(", ")}`);
        const label = `${l.connections}×${l.inflight}`;
        const pre = prefix;
        const same = fair.get(label)!;
        figures.push({ scenario: SCENARIO, name: `${pre}Submit+Top rps ${label} vs raw BoardStore scripts`, value: res.rps, unit: "rps", baseline: { name: `ioredis BoardStore submit/top, ${l.connections * l.inflight} in flight`, value: same.rps }, target: "≥ 0.5×", met: res.rps >= 0.5 * same.rps });
        if (pre === "") {
          figures.push({ scenario: SCENARIO, name: `Submit+Top rps ${label} vs raw nc.request() 256`, value: res.rps, unit: "rps", baseline: { name: "nc.request()", value: raw.rps } });
          figures.push({ scenario: SCENARIO, name: `Submit+Top rps ${label} vs raw ioredis 256`, value: res.rps, unit: "rps", baseline: { name: "ioredis ZADD/ZREVRANGE (not the same work)", value: rawRedis.rps } });
        }
        figures.push({ scenario: SCENARIO, name: `${pre}Submit+Top p50 ${label}`, value: res.p50, unit: "ms", baseline: { name: "ioredis BoardStore", value: same.p50 } });
        figures.push({ scenario: SCENARIO, name: `${pre}Submit+Top p99 ${label}`, value: res.p99, unit: "ms", baseline: { name: "ioredis BoardStore", value: same.p99 } });
        const requests = res.ok + errs.reduce((a, [, n]) => a + n, 0);
        figures.push({ scenario: SCENARIO, name: `${pre}rank module CPU per request ${label}`, value: (cpu.used.get(rankProc.pid)! * 1000) / requests, unit: "µs" });
        figures.push({ scenario: SCENARIO, name: `${pre}gateway CPU per request ${label}`, value: (cpu.used.get(gw.pid)! * 1000) / requests, unit: "µs" });
        if (errs.length > 0) figures.push({ scenario: SCENARIO, name: `${pre}errors ${label}`, value: errs.reduce((a, [, n]) => a + n, 0), unit: "" });
      }
      for (const p of started.reverse()) await p.stop();
    }
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
