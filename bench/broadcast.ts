// Scenario: channel broadcast to logged-in members. 10,000 members over 2 gateways, each bound
// to a uid (gw.<id>.bind, as the login module does: every push then carries the uid's seq and
// goes through the session's resume ring, the real path) and joined to one channel (join
// commands on gw.<id>.cmd, as a module would send them); one cluster.ChannelMessage published
// on chan.<name>; time from the publish until the last member has the PUSH, deliveries/s over
// bursts, and the gateways' CPU per member-push. The members live in BENCH_RECEIVERS (default
// 4) receiver processes, so reading 10,000 sockets in one process is not what is measured; each
// reports when its last member had each message, on a clock shared by all processes (epochMs).
// Baseline in the same run: one Node process writing the frame to 10,000 raw TCP sockets, read
// by the same number of receiver processes.
// BENCH_BEFORE_ROOT=<a built checkout of an older commit> measures its gateways too, in the same
// run, with the same receivers (bench/lib/builds.ts): before/after of the fan-out path.
import { connect } from "nats";
import { channelSubject } from "../src/bus/subjects.js";
import type { cluster } from "../src/generated/proto.js";
import { loadProto } from "../src/proto/registry.js";
import { benchBuilds, startGateway, startModule, type Build } from "./lib/builds.js";
import { CpuMeter, benchClusterConfig, benchSeconds, freePort, sleep, withProcesses, type ProcessGroup } from "./lib/processes.js";
import { Receivers, epochMs } from "./lib/receivers.js";
import { startFanoutBaseline } from "./lib/fanout-baseline.js";
import { isMain, median, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "broadcast";
const CHANNEL = "bench.room";
const SINGLE_ROUNDS = 10;
const BURST = 20;

/** What one side (gateways or raw) measured. */
interface Measured {
  times: number[];
  rate: number;
  /** Messages sent in all (single rounds and bursts). */
  sent: number;
}

/** What one build's gateways measured, with their CPU. */
interface BuildMeasured extends Measured {
  build: Build;
  /** CPU µs of both gateways per member-push (one PUSH written to one member). */
  cpuPerMemberPushUs: number;
}

/**
 * SINGLE_ROUNDS single messages (time from `send` to the last member, 50 ms apart), then bursts
 * of BURST messages for BENCH_SECONDS, each after the previous burst fully arrived.
 */
async function measure(rx: Receivers, members: number, send: (n: number) => void): Promise<Measured> {
  let sent = 0;
  const times: number[] = [];
  for (let r = 0; r < SINGLE_ROUNDS; r++) {
    const t0 = epochMs();
    send(1);
    times.push((await rx.waitFor(++sent)) - t0);
    await sleep(50);
  }
  let delivered = 0;
  const tStart = epochMs();
  const tEnd = tStart + benchSeconds() * 1000;
  while (epochMs() < tEnd) {
    send(BURST);
    sent += BURST;
    await rx.waitFor(sent);
    delivered += members * BURST;
  }
  return { times, rate: delivered / ((epochMs() - tStart) / 1000), sent };
}

/** Two gateways (and the echo module, for WhoAmI) of `build`, the members bound and joined, measured; all stopped after. */
async function measureBuild(g: ProcessGroup, build: Build, natsUrl: string, redisUrl: string, receivers: number, per: number, message: Uint8Array): Promise<BuildMeasured> {
  const members = receivers * per;
  const ports = [await freePort(), await freePort()];
  const ids = [`gw-${build.label}-1`, `gw-${build.label}-2`];
  const channel = `${CHANNEL}.${build.label}`;
  const cfg = g.config(
    `cluster-${build.label}`,
    benchClusterConfig(natsUrl, redisUrl, ids.map((id, i) => ({ id, port: ports[i]! })), { echo: { instances: 1, ordered: false } }),
  );
  step(`${build.label}: 2 gateways (${build.cli}), ${members} members bound to uids and joined to chan.${channel} from ${receivers} receiver processes`);
  const echo = await startModule(g, build, "echo", `echo-${build.label}`, cfg);
  const gateways = [];
  for (const id of ids) gateways.push(await startGateway(g, build, id, cfg));
  const rx = await Receivers.start(
    g,
    `rx-${build.label}`,
    Array.from({ length: receivers }, (_, i) => ["gw", String(ports[i % ports.length]), String(per), natsUrl, channel, `${build.label}-r${i}-`]),
  );
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const subject = channelSubject(channel);
  step(`${build.label}: single messages, then bursts of ${BURST} messages for ${benchSeconds()} s`);
  const cpu = new CpuMeter(gateways.map((p) => p.pid));
  cpu.edge("start");
  const m = await measure(rx, members, (n) => {
    for (let i = 0; i < n; i++) nc.publish(subject, message);
  });
  cpu.edge("end");
  await nc.close();
  await rx.stop();
  for (const p of gateways) await p.stop();
  await echo.stop();
  const cpuMs = [...cpu.used.values()].reduce((a, b) => a + b, 0);
  const cpuPerMemberPushUs = (cpuMs * 1000) / (m.sent * members);
  step(`${build.label}: median ${median(m.times).toFixed(1)} ms to the last member, ${Math.round(m.rate)} deliveries/s, gateways ${cpuMs} ms CPU for ${m.sent} × ${members} member-pushes = ${cpuPerMemberPushUs.toFixed(2)} µs each`);
  return { ...m, build, cpuPerMemberPushUs };
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const receivers = Math.max(1, Number(process.env.BENCH_RECEIVERS ?? 4));
  const per = Math.ceil(Number(process.env.BENCH_MEMBERS ?? 10_000) / receivers);
  const members = per * receivers;
  const proto = loadProto();
  const chanCodec = proto.message<cluster.ChannelMessage>("cluster.ChannelMessage");
  const message = chanCodec.encode({ route: "bench.Tick", body: Buffer.alloc(16, 1) });
  const builds = benchBuilds();
  return withProcesses(async (g) => {
    const figures: Figure[] = [];

    step(`raw TCP fan-out baseline: one process, ${members} sockets read by ${receivers} receiver processes`);
    const baseline = await startFanoutBaseline(g, receivers, per);
    const raw = await measure(baseline.rx, members, (n) => baseline.trigger.write("G".repeat(n)));
    await baseline.stop();

    const nats = await g.nats();
    // A real Redis: the gateways keep the resume ring of each bound session (the default config)
    const redis = await g.redis();
    const results: BuildMeasured[] = [];
    for (const build of builds) results.push(await measureBuild(g, build, nats.url, redis.url, receivers, per, message));

    const base = { name: `raw TCP fan-out, ${receivers} receivers` };
    const before = results.find((r) => r.build.label === "before");
    for (const r of results) {
      const label = builds.length > 1 ? `${r.build.label}: ` : "";
      const isAfter = r.build.label === "after";
      figures.push({
        scenario: SCENARIO,
        name: `${label}time to last of ${members} logged-in members, median of ${SINGLE_ROUNDS}`,
        value: median(r.times),
        unit: "ms",
        baseline: { ...base, value: median(raw.times) },
        ...(isAfter ? { target: "≤ 100 ms", met: median(r.times) <= 100 } : {}),
      });
      figures.push({ scenario: SCENARIO, name: `${label}time to last of ${members} logged-in members, worst of ${SINGLE_ROUNDS}`, value: Math.max(...r.times), unit: "ms", baseline: { ...base, value: Math.max(...raw.times) } });
      figures.push({ scenario: SCENARIO, name: `${label}deliveries/s, bursts of ${BURST}`, value: r.rate, unit: "msg/s", baseline: { ...base, value: raw.rate } });
      figures.push({
        scenario: SCENARIO,
        name: `${label}gateway CPU per member-push (2 gateways)`,
        value: r.cpuPerMemberPushUs,
        unit: "µs",
        ...(isAfter && before !== undefined ? { baseline: { name: "before (BENCH_BEFORE_ROOT)", value: before.cpuPerMemberPushUs } } : {}),
      });
    }
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
