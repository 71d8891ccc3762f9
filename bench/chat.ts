// Scenario: chat. Processes: nats-server, redis-server, 2 gateways, 2 login and 2 chat instances.
// 1. One chat.Say to a room of BENCH_CHAT_MEMBERS (default 5,000) logged-in members spread over
//    the 2 gateways (held by BENCH_RECEIVERS receiver processes): time from the Say until the
//    last member has the chat.RoomMessage push, next to the raw TCP fan-out baseline of the
//    broadcast scenario (one process writing a frame to as many sockets) in the same run.
// 2. Private messages end to end: 100 senders, each with one chat.Tell in flight to its own
//    receiver; latency from the Tell until the receiver has the push; pushes/s and p99.
// 3. 1,000 private messages to an offline user, then its login: time from the login until its
//    client has read the last one with chat.Inbox (pages of 500).
import { connect, type Client } from "../src/client/index.js";
import { Histogram } from "./lib/load.js";
import { benchClusterConfig, benchSeconds, freePort, sleep, withProcesses } from "./lib/processes.js";
import { Receivers, epochMs } from "./lib/receivers.js";
import { startFanoutBaseline } from "./lib/fanout-baseline.js";
import { isMain, median, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "chat";
const ROOM = "bench";
const ROUNDS = 10;
const SENDERS = 100;
const OFFLINE = 1_000;

/** ROUNDS single messages, 50 ms apart: time from `send` until the last member has each. */
async function singles(rx: Receivers, send: () => void | Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let k = 1; k <= ROUNDS; k++) {
    const t0 = epochMs();
    void send();
    times.push((await rx.waitFor(k)) - t0);
    await sleep(50);
  }
  return times;
}

async function user(port: number, name: string): Promise<{ client: Client; uid: string }> {
  const client = await connect({ host: "127.0.0.1", port, heartbeatMs: 0 });
  await client.request("login.Register", { username: name, password: "password-1" });
  const r = await client.request("login.Login", { username: name, password: "password-1" });
  return { client, uid: r.uid };
}

/** 100 senders, one Tell in flight each, for BENCH_SECONDS: pushes/s and latency to the receiver. */
async function privateLoad(ports: number[]): Promise<{ rps: number; p50: number; p99: number }> {
  const pairs = await Promise.all(
    Array.from({ length: SENDERS }, async (_, i) => ({ from: await user(ports[i % 2]!, `pm-from-${i}`), to: await user(ports[(i + 1) % 2]!, `pm-to-${i}`) })),
  );
  const hist = new Histogram();
  // A push may arrive before its Tell's reply (which carries the id): both sides are matched by id.
  const sentAt = new Map<string, number>();
  const arrivedEarly = new Map<string, number>();
  let measuring = false;
  let received = 0;
  const record = (ms: number): void => {
    if (!measuring) return;
    hist.record(ms);
    received++;
  };
  for (const p of pairs) {
    let unacked = 0;
    p.to.client.on<{ id: string; seq: number }>("chat.PrivateMessage", (m) => {
      const now = epochMs();
      const t0 = sentAt.get(m.id);
      if (t0 === undefined) arrivedEarly.set(m.id, now);
      else {
        sentAt.delete(m.id);
        record(now - t0);
      }
      if (++unacked >= 50) {
        unacked = 0;
        void p.to.client.request("chat.Ack", { upToSeq: m.seq });
      }
    });
  }
  let running = true;
  const loops = pairs.map(async (p, i) => {
    let n = 0;
    while (running) {
      const t0 = epochMs();
      const r = await p.from.client.request("chat.Tell", { toUid: p.to.uid, text: `m ${i} ${n++}` });
      const early = arrivedEarly.get(r.id);
      if (early === undefined) sentAt.set(r.id, t0);
      else {
        arrivedEarly.delete(r.id);
        record(early - t0);
      }
    }
  });
  await sleep(1_000);
  measuring = true;
  const start = epochMs();
  await sleep(benchSeconds() * 1000);
  measuring = false;
  const seconds = (epochMs() - start) / 1000;
  running = false;
  await Promise.all(loops);
  await Promise.all(pairs.flatMap((p) => [p.from.client.close(), p.to.client.close()]));
  return { rps: received / seconds, p50: hist.percentile(0.5), p99: hist.percentile(0.99) };
}

/** OFFLINE Tells to a user who is offline, then its login and Inbox pages until the last. */
async function offlineDelivery(port: number): Promise<number> {
  const sender = await user(port, "offline-sender");
  const reader = await user(port, "offline-reader");
  await reader.client.close();
  for (let i = 0; i < OFFLINE; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => sender.client.request("chat.Tell", { toUid: reader.uid, text: `offline ${i + j}` })));
  }
  const c = await connect({ host: "127.0.0.1", port, heartbeatMs: 0 });
  const t0 = epochMs();
  await c.request("login.Login", { username: "offline-reader", password: "password-1" });
  let last = 0;
  let count = 0;
  for (;;) {
    const page = await c.request("chat.Inbox", { afterSeq: last, limit: 500 });
    count += page.messages.length;
    last = page.messages.at(-1)?.seq ?? last;
    if (!page.more) break;
  }
  const ms = epochMs() - t0;
  if (count !== OFFLINE) throw new Error(`offline delivery: ${count} of ${OFFLINE} messages read`);
  await c.request("chat.Ack", { upToSeq: last });
  await Promise.all([c.close(), sender.client.close()]);
  return ms;
}

/** Runs the scenario and returns its figures. */
export async function run(): Promise<Figure[]> {
  const receivers = Math.max(1, Number(process.env.BENCH_RECEIVERS ?? 4));
  const per = Math.ceil(Number(process.env.BENCH_CHAT_MEMBERS ?? 5_000) / receivers);
  const members = per * receivers;
  return withProcesses(async (g) => {
    step(`raw TCP fan-out baseline: one process, ${members} sockets read by ${receivers} receiver processes`);
    const baseline = await startFanoutBaseline(g, receivers, per);
    const raw = await singles(baseline.rx, () => {
      baseline.trigger.write("G");
    });
    await baseline.stop();

    const [nats, redis] = [await g.nats(), await g.redis()];
    const ports = [await freePort(), await freePort()];
    const ids = ["gw-c1", "gw-c2"];
    const cfg = g.config(
      "cluster",
      benchClusterConfig(nats.url, redis.url, ids.map((id, i) => ({ id, port: ports[i]! })), {
        login: { instances: 2, settings: { scryptN: 16, maxConcurrentHashes: 1_000 } },
        chat: { instances: 2, settings: { maxMessagesPerWindow: 1_000_000, maxPageSize: 500 } },
      }),
    );
    for (const id of ids) await g.gateway(id, cfg);
    for (const i of [1, 2]) {
      await g.module("login", `login-c${i}`, cfg);
      await g.module("chat", `chat-c${i}`, cfg);
    }
    step(`${members} members log in and join room ${ROOM} over 2 gateways (${receivers} receiver processes)`);
    const rx = await Receivers.start(g, "chat-rx", Array.from({ length: receivers }, (_, i) => [String(ports[i % 2]), String(per), ROOM, `member-${i}-`]), "chat-receiver.js");
    const speaker = await user(ports[0]!, "speaker");
    await speaker.client.request("chat.Join", { room: ROOM });
    const room = await singles(rx, () => speaker.client.request("chat.Say", { room: ROOM, text: "hello everyone" }));
    await speaker.client.close();
    await rx.stop();

    step(`private messages: ${SENDERS} senders for ${benchSeconds()} s`);
    const pm = await privateLoad(ports);
    step(`${OFFLINE} offline messages, then the login`);
    const offline = await offlineDelivery(ports[1]!);

    const base = { name: `raw TCP fan-out, ${receivers} receivers` };
    return [
      { scenario: SCENARIO, name: `chat.Say to a ${members}-member room over 2 gateways: time to last member, median of ${ROUNDS}`, value: median(room), unit: "ms", baseline: { ...base, value: median(raw) } },
      { scenario: SCENARIO, name: `chat.Say to a ${members}-member room: worst of ${ROUNDS}`, value: Math.max(...room), unit: "ms", baseline: { ...base, value: Math.max(...raw) } },
      { scenario: SCENARIO, name: `private messages end to end, ${SENDERS} senders: pushes/s`, value: pm.rps, unit: "msg/s" },
      { scenario: SCENARIO, name: `private messages end to end, ${SENDERS} senders: p50`, value: pm.p50, unit: "ms" },
      { scenario: SCENARIO, name: `private messages end to end, ${SENDERS} senders: p99`, value: pm.p99, unit: "ms" },
      { scenario: SCENARIO, name: `${OFFLINE} offline messages: login until the last is read`, value: offline, unit: "ms" },
    ];
  });
}

if (isMain(import.meta.url)) {
  publish(SCENARIO, await run());
}
