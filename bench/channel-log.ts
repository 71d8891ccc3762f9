// Scenario: channel-log. The cost of logging every channel publication in Redis (rt.publish
// appends it to sy:chan:{<channel>} so that a resume after a gateway's death can replay it),
// against the unlogged publish of before, in the same run. One process: nats-server and
// redis-server as children, one gateway, one login instance and MEMBERS logged-in SDK clients in
// one channel. Each round publishes as fast as the members take it for BENCH_SECONDS, with at
// most WINDOW publications not yet received by every member; rounds alternate (unlogged, logged,
// ×2). Prints publications/s, this process's CPU and redis-server's CPU per publication, and
// checks every member got every publication. Run `node dist/bench/channel-log.js` after a build.
import { startCluster } from "../src/testing/index.js";
import { TEST_LOGIN_LIMITS } from "../src/testing/config.js";
import { loadProto } from "../src/proto/registry.js";
import { channelSubject } from "../src/bus/subjects.js";
import type { cluster } from "../src/generated/proto.js";
import type { Client } from "../src/client/index.js";
import { benchSeconds, sleep } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "channel-log";
const MEMBERS = 20;
const WINDOW = 200;
const CHANNEL = "bench-log";
const ROUTE = "team.ChatMessage";

type Mode = "unlogged" | "logged";

export async function run(): Promise<Figure[]> {
  const seconds = benchSeconds();
  const running = await startCluster({ modules: [{ module: "login", settings: { scryptN: 1024, ...TEST_LOGIN_LIMITS } }], config: { log: { level: "warn" } } as never });
  try {
    const rt = running.modules[0]!.runtime;
    const received: number[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const { client, uid } = await running.loggedInClient(`clog-${i}`);
      received.push(0);
      (client as unknown as Client).on(ROUTE, () => received[i]!++);
      await rt.joinChannel({ ...(await rt.onlineTable().lookup(uid))!, uid }, CHANNEL);
    }
    const msg = { teamId: "", fromUid: "", fromUsername: "", text: "tick", sentAt: 0 };
    const channelCodec = loadProto().message<cluster.ChannelMessage>("cluster.ChannelMessage");
    const pushBody = loadProto().push(ROUTE)!;
    let unloggedId = 0;
    /** rt.publish as it was before the channel log: one NATS publish. */
    const unlogged = (): void => {
      rt.nc.publish(channelSubject(CHANNEL), channelCodec.encode({ route: ROUTE, body: pushBody.encode(msg), excludeUids: [], id: `bench.${++unloggedId}` }));
    };
    const logged = (): void => rt.publish(CHANNEL, ROUTE, msg);
    const redis = rt.redis();
    const redisCpuMs = async (): Promise<number> => {
      const info = await redis.info("cpu");
      const sum = (field: string): number => Number(new RegExp(`${field}:([0-9.]+)`).exec(info)?.[1] ?? 0);
      return (sum("used_cpu_user") + sum("used_cpu_sys")) * 1_000;
    };
    const slowest = (): number => Math.min(...received);

    const round = async (mode: Mode): Promise<{ rate: number; cpuUs: number; redisUs: number; lost: number }> => {
      const send = mode === "logged" ? logged : unlogged;
      const start = slowest();
      let sent = 0;
      const redis0 = await redisCpuMs();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const end = Date.now() + seconds * 1_000;
      while (Date.now() < end) {
        while (sent - (slowest() - start) < WINDOW) {
          send();
          sent++;
        }
        await sleep(1);
      }
      const deadline = Date.now() + 10_000;
      while (slowest() - start < sent && Date.now() < deadline) await sleep(10);
      const elapsed = (performance.now() - t0) / 1_000;
      const cpu = process.cpuUsage(cpu0);
      const redisUs = ((await redisCpuMs()) - redis0) * 1_000;
      return { rate: sent / elapsed, cpuUs: (cpu.user + cpu.system) / sent, redisUs: redisUs / sent, lost: sent - (slowest() - start) };
    };

    const figures: Figure[] = [];
    const rates: Record<Mode, number[]> = { unlogged: [], logged: [] };
    await round("unlogged"); // warm-up
    for (const mode of ["unlogged", "logged", "unlogged", "logged"] as Mode[]) {
      step(`${mode}: publications to a channel of ${MEMBERS} members, at most ${WINDOW} not yet received, for ${seconds} s`);
      const r = await round(mode);
      rates[mode].push(r.rate);
      console.log(
        `${SCENARIO}: ${mode}: ${Math.round(r.rate)} publications/s (${Math.round(r.rate * MEMBERS)} member pushes/s), this process ${r.cpuUs.toFixed(1)} µs CPU per publication, redis-server ${r.redisUs.toFixed(1)} µs, not received ${r.lost}`,
      );
      figures.push({ scenario: SCENARIO, name: `channel publications ${mode}, ${MEMBERS} members, process CPU ${r.cpuUs.toFixed(1)} µs and redis ${r.redisUs.toFixed(1)} µs per publication`, value: Math.round(r.rate), unit: "publications/s" });
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`${SCENARIO}: logged / unlogged = ${(mean(rates.logged) / mean(rates.unlogged)).toFixed(2)}`);
    return figures;
  } finally {
    await running.stop();
  }
}

if (isMain(import.meta.url)) {
  run().then(
    (figures) => publish(SCENARIO, figures),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
