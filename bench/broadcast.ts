// Scenario: channel broadcast. 10,000 members over 2 gateways joined to one channel (join
// commands on gw.<id>.cmd, as a module would send them); one cluster.ChannelMessage published
// on chan.<name>; time until the last member has the PUSH, and deliveries/s over bursts.
// Baseline in the same run: one Node process writing the frame to 10,000 raw TCP sockets.
import { connect } from "nats";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { gatewayCommandSubject, channelSubject } from "../src/bus/subjects.js";
import type { cluster } from "../src/generated/proto.js";
import { loadProto } from "../src/proto/registry.js";
import { PacketKind, encodeFrame } from "../src/protocol/packet.js";
import { ArrivalCounter, openMembers, type Member } from "./lib/members.js";
import { openSocket } from "./lib/load.js";
import { benchClusterConfig, benchSeconds, freePort, sleep, withProcesses } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "broadcast";
const CHANNEL = "bench.room";
const SINGLE_ROUNDS = 10;
const BURST = 20;
/** Size of the baseline's PUSH frame (tcp-fanout-server.ts sends exactly this). */
const RAW_FRAME_BYTES = encodeFrame(PacketKind.PUSH, 0, "bench.Tick", Buffer.alloc(16, 1)).length;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Sends bursts of BURST messages to `members` for BENCH_SECONDS, each after the last arrived; deliveries/s. */
async function bursts(counter: ArrivalCounter, members: number, send: () => void): Promise<number> {
  let delivered = 0;
  const tStart = performance.now();
  const tEnd = tStart + benchSeconds() * 1000;
  while (performance.now() < tEnd) {
    const done = counter.expect(members * BURST);
    send();
    await done;
    delivered += members * BURST;
  }
  return delivered / ((performance.now() - tStart) / 1000);
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const members = Number(process.env.BENCH_MEMBERS ?? 10_000);
  const perGateway = Math.ceil(members / 2);
  const proto = loadProto();
  const cmdCodec = proto.message<cluster.GatewayCommand>("cluster.GatewayCommand");
  const ackCodec = proto.message<cluster.CommandAck>("cluster.CommandAck");
  const chanCodec = proto.message<cluster.ChannelMessage>("cluster.ChannelMessage");
  const message = chanCodec.encode({ route: "bench.Tick", body: Buffer.alloc(16, 1) });
  return withProcesses(async (g) => {
    const figures: Figure[] = [];

    step(`raw TCP fan-out baseline: one process, ${members} sockets`);
    const fanPort = await freePort();
    const fan = await g.helper("tcp-fanout", "tcp-fanout-server.js", [String(fanPort)]);
    const rawCounter = new ArrivalCounter();
    const rawSockets: Socket[] = [];
    for (let i = 0; i < members; i++) {
      const s = await openSocket("127.0.0.1", fanPort);
      s.on("data", (c: Buffer) => rawCounter.arrived(c.length / RAW_FRAME_BYTES));
      rawSockets.push(s);
    }
    // The client side completes a connect before the server's accept callback has run.
    await sleep(1_000);
    const rawTimes: number[] = [];
    for (let r = 0; r < SINGLE_ROUNDS; r++) {
      const done = rawCounter.expect(members);
      const t0 = performance.now();
      rawSockets[0]!.write("G");
      rawTimes.push((await done) - t0);
      await sleep(50);
    }
    const rawRate = await bursts(rawCounter, members, () => rawSockets[0]!.write("G".repeat(BURST)));
    for (const s of rawSockets) s.destroy();
    await fan.stop();

    step(`2 gateways, ${members} members joined to chan.${CHANNEL}`);
    const nats = await g.nats();
    const ports = [await freePort(), await freePort()];
    const ids = ["gw-b1", "gw-b2"];
    const cfg = g.config(
      "cluster",
      benchClusterConfig(nats.url, "redis://127.0.0.1:1", ids.map((id, i) => ({ id, port: ports[i]! })), { echo: { instances: 1, ordered: false } }),
    );
    await g.module("echo", "echo-b1", cfg);
    for (const id of ids) await g.gateway(id, cfg);
    const counter = new ArrivalCounter();
    const all: Member[] = [];
    for (const port of ports) all.push(...(await openMembers(port, perGateway, counter)));
    const nc = await connect({ servers: nats.url, noAsyncTraces: true });
    const acks = await Promise.all(
      all.map((m) => nc.request(gatewayCommandSubject(m.gatewayId), cmdCodec.encode({ join: { sid: m.sid, channel: CHANNEL } }), { timeout: 30_000 })),
    );
    const refused = acks.map((a) => ackCodec.decode(a.data)).filter((a) => !a.ok);
    if (refused.length > 0) throw new Error(`${refused.length} joins refused: ${refused[0]!.error}`);
    const total = all.length;

    const times: number[] = [];
    for (let r = 0; r < SINGLE_ROUNDS; r++) {
      const done = counter.expect(total);
      const t0 = performance.now();
      nc.publish(channelSubject(CHANNEL), message);
      times.push((await done) - t0);
      await sleep(50);
    }
    step(`bursts of ${BURST} messages for ${benchSeconds()} s`);
    const rate = await bursts(counter, total, () => {
      for (let i = 0; i < BURST; i++) nc.publish(channelSubject(CHANNEL), message);
    });
    await nc.close();
    for (const m of all) m.socket.destroy();

    figures.push({
      scenario: SCENARIO,
      name: `time to last of ${total} members, median of ${SINGLE_ROUNDS}`,
      value: median(times),
      unit: "ms",
      baseline: { name: "raw TCP fan-out", value: median(rawTimes) },
      target: "≤ 100 ms",
      met: median(times) <= 100,
    });
    figures.push({ scenario: SCENARIO, name: `time to last of ${total} members, worst of ${SINGLE_ROUNDS}`, value: Math.max(...times), unit: "ms", baseline: { name: "raw TCP fan-out", value: Math.max(...rawTimes) } });
    figures.push({
      scenario: SCENARIO,
      name: `deliveries/s, bursts of ${BURST}`,
      value: rate,
      unit: "msg/s",
      baseline: { name: "raw TCP fan-out", value: rawRate },
    });
    return figures;
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
