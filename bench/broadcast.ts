// Scenario: channel broadcast. 10,000 members over 2 gateways joined to one channel (join
// commands on gw.<id>.cmd, as a module would send them); one cluster.ChannelMessage published
// on chan.<name>; time from the publish until the last member has the PUSH, and deliveries/s
// over bursts. The members live in BENCH_RECEIVERS (default 4) receiver processes, so reading
// 10,000 sockets in one process is not what is measured; each reports when its last member had
// each message, on a clock shared by all processes (epochMs).
// Baseline in the same run: one Node process writing the frame to 10,000 raw TCP sockets, read
// by the same number of receiver processes.
import { connect } from "nats";
import { channelSubject } from "../src/bus/subjects.js";
import type { cluster } from "../src/generated/proto.js";
import { loadProto } from "../src/proto/registry.js";
import { benchClusterConfig, benchSeconds, freePort, sleep, withProcesses } from "./lib/processes.js";
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
  return { times, rate: delivered / ((epochMs() - tStart) / 1000) };
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const receivers = Math.max(1, Number(process.env.BENCH_RECEIVERS ?? 4));
  const per = Math.ceil(Number(process.env.BENCH_MEMBERS ?? 10_000) / receivers);
  const members = per * receivers;
  const proto = loadProto();
  const chanCodec = proto.message<cluster.ChannelMessage>("cluster.ChannelMessage");
  const message = chanCodec.encode({ route: "bench.Tick", body: Buffer.alloc(16, 1) });
  return withProcesses(async (g) => {
    const figures: Figure[] = [];

    step(`raw TCP fan-out baseline: one process, ${members} sockets read by ${receivers} receiver processes`);
    const baseline = await startFanoutBaseline(g, receivers, per);
    const raw = await measure(baseline.rx, members, (n) => baseline.trigger.write("G".repeat(n)));
    await baseline.stop();

    step(`2 gateways, ${members} members joined to chan.${CHANNEL} from ${receivers} receiver processes`);
    const nats = await g.nats();
    const ports = [await freePort(), await freePort()];
    const ids = ["gw-b1", "gw-b2"];
    const cfg = g.config(
      "cluster",
      benchClusterConfig(nats.url, "redis://127.0.0.1:1", ids.map((id, i) => ({ id, port: ports[i]! })), { echo: { instances: 1, ordered: false } }),
    );
    await g.module("echo", "echo-b1", cfg);
    for (const id of ids) await g.gateway(id, cfg);
    const rx = await Receivers.start(g, "gw-rx", Array.from({ length: receivers }, (_, i) => ["gw", String(ports[i % ports.length]), String(per), nats.url, CHANNEL]));
    const nc = await connect({ servers: nats.url, noAsyncTraces: true });
    const subject = channelSubject(CHANNEL);
    step(`single messages, then bursts of ${BURST} messages for ${benchSeconds()} s`);
    const gw = await measure(rx, members, (n) => {
      for (let i = 0; i < n; i++) nc.publish(subject, message);
    });
    await nc.close();
    await rx.stop();

    const base = { name: `raw TCP fan-out, ${receivers} receivers` };
    figures.push({
      scenario: SCENARIO,
      name: `time to last of ${members} members, median of ${SINGLE_ROUNDS}`,
      value: median(gw.times),
      unit: "ms",
      baseline: { ...base, value: median(raw.times) },
      target: "≤ 100 ms",
      met: median(gw.times) <= 100,
    });
    figures.push({ scenario: SCENARIO, name: `time to last of ${members} members, worst of ${SINGLE_ROUNDS}`, value: Math.max(...gw.times), unit: "ms", baseline: { ...base, value: Math.max(...raw.times) } });
    figures.push({ scenario: SCENARIO, name: `deliveries/s, bursts of ${BURST}`, value: gw.rate, unit: "msg/s", baseline: { ...base, value: raw.rate } });
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
