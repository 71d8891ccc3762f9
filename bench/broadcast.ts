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
// run, with the same receivers (bench/lib/builds.ts), both builds up at once and measured in
// turns (ABBA): before/after of the fan-out path.
import { loadavg } from "node:os";
import { connect, type NatsConnection } from "nats";
import { channelSubject } from "../src/bus/subjects.js";
import type { cluster } from "../src/generated/proto.js";
import { loadProto } from "../src/proto/registry.js";
import { benchBuilds, startGateway, startModule, type Build } from "./lib/builds.js";
import { benchClusterConfig, benchSeconds, cpuMs, freePort, sleep, withProcesses, type BenchProcess, type ProcessGroup } from "./lib/processes.js";
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

/**
 * The raw baseline: SINGLE_ROUNDS single messages (time from `send` to the last member, 50 ms
 * apart), then bursts of BURST messages for BENCH_SECONDS, each after the previous burst fully arrived.
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

/** One build's cluster, running: two gateways (and echo, for WhoAmI) with their members bound and joined. */
interface BuildSide {
  build: Build;
  rx: Receivers;
  gateways: BenchProcess[];
  echo: BenchProcess;
  send: (n: number) => void;
  sent: number;
  times: number[];
  delivered: number;
  burstMs: number;
  cpuMs: number;
}

/** What one build's gateways measured, with their CPU. */
interface BuildMeasured extends Measured {
  build: Build;
  /** CPU µs of both gateways per member-push (one PUSH written to one member). */
  cpuPerMemberPushUs: number;
}

async function startBuild(g: ProcessGroup, build: Build, nc: NatsConnection, natsUrl: string, redisUrl: string, receivers: number, per: number, message: Uint8Array): Promise<BuildSide> {
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
  const gateways: BenchProcess[] = [];
  for (const id of ids) gateways.push(await startGateway(g, build, id, cfg));
  const rx = await Receivers.start(
    g,
    `rx-${build.label}`,
    Array.from({ length: receivers }, (_, i) => ["gw", String(ports[i % ports.length]), String(per), natsUrl, channel, `${build.label}-r${i}-`]),
  );
  const subject = channelSubject(channel);
  const send = (n: number): void => {
    for (let i = 0; i < n; i++) nc.publish(subject, message);
  };
  return { build, rx, gateways, echo, send, sent: 0, times: [], delivered: 0, burstMs: 0, cpuMs: 0 };
}

function gatewayCpuMs(side: BuildSide): number {
  return side.gateways.reduce((a, p) => a + cpuMs(p.pid), 0);
}

/** One single message to `side`: time from the publish to its last member; its gateways' CPU counted. */
async function single(side: BuildSide): Promise<void> {
  const c0 = gatewayCpuMs(side);
  const t0 = epochMs();
  side.send(1);
  side.times.push((await side.rx.waitFor(++side.sent)) - t0);
  side.cpuMs += gatewayCpuMs(side) - c0;
}

/** Bursts of BURST to `side` for `ms`, each after the previous fully arrived. */
async function bursts(side: BuildSide, members: number, ms: number): Promise<void> {
  const c0 = gatewayCpuMs(side);
  const tStart = epochMs();
  while (epochMs() < tStart + ms) {
    side.send(BURST);
    side.sent += BURST;
    await side.rx.waitFor(side.sent);
    side.delivered += members * BURST;
  }
  side.burstMs += epochMs() - tStart;
  side.cpuMs += gatewayCpuMs(side) - c0;
}

/**
 * The builds measured in turns (ABBA), so that the machine's drift hits each alike: single
 * messages alternate per round, bursts in 1 s slices, BENCH_SECONDS of bursts per build. CPU
 * is read per build over its own turns only (the other build's gateways idle meanwhile).
 */
async function measureTurns(sides: BuildSide[], members: number): Promise<BuildMeasured[]> {
  const order = (k: number): BuildSide[] => (k % 2 === 0 ? sides : [...sides].reverse());
  for (let r = 0; r < SINGLE_ROUNDS; r++) {
    for (const side of order(r)) {
      await single(side);
      await sleep(50);
    }
  }
  const slices = Math.max(1, Math.round(benchSeconds()));
  const sliceMs = (benchSeconds() * 1000) / slices;
  for (let k = 0; k < slices; k++) for (const side of order(k)) await bursts(side, members, sliceMs);
  return sides.map((side) => {
    const cpuPerMemberPushUs = (side.cpuMs * 1000) / (side.sent * members);
    const rate = side.delivered / (side.burstMs / 1000);
    step(`${side.build.label}: median ${median(side.times).toFixed(1)} ms to the last member, ${Math.round(rate)} deliveries/s, gateways ${side.cpuMs} ms CPU for ${side.sent} × ${members} member-pushes = ${cpuPerMemberPushUs.toFixed(2)} µs each (load average ${loadavg().map((x) => x.toFixed(2)).join(" ")})`);
    return { build: side.build, times: side.times, rate, sent: side.sent, cpuPerMemberPushUs };
  });
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
    const nc = await connect({ servers: nats.url, noAsyncTraces: true });
    const sides: BuildSide[] = [];
    for (const build of builds) sides.push(await startBuild(g, build, nc, nats.url, redis.url, receivers, per, message));
    step(`${builds.map((b) => b.label).join(" and ")} in turns: single messages, then bursts of ${BURST} messages, ${benchSeconds()} s per build`);
    const results = await measureTurns(sides, members);
    await nc.close();
    for (const side of sides) {
      await side.rx.stop();
      for (const p of side.gateways) await p.stop();
      await side.echo.stop();
    }

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
