// Scenario: push-to-uid. The cost of acknowledging point pushes (rt.pushToUid waits for the
// gateway's ack, so a push to a dead gateway is kept for the resume instead of lost), against the
// fire-and-forget publish pushToUid did before, in the same run. One process: nats-server and
// redis-server as children, one gateway, one login instance and CLIENTS logged-in SDK clients.
// INFLIGHT concurrent loops push to the clients' uids for BENCH_SECONDS per round; rounds
// alternate (fire-and-forget, acknowledged, ×2). Prints pushes/s, p50/p99 of one call, and
// checks every push arrived. Run `node dist/bench/push-to-uid.js` after a build.
import { startCluster } from "../src/testing/index.js";
import { TEST_LOGIN_LIMITS } from "../src/testing/config.js";
import { loadProto } from "../src/proto/registry.js";
import type { Client } from "../src/client/index.js";
import { Histogram } from "./lib/load.js";
import { benchSeconds, sleep } from "./lib/processes.js";
import { isMain, publish, step, type Figure } from "./lib/report.js";

const SCENARIO = "push-to-uid";
const CLIENTS = 50;
const INFLIGHT = 64;
const ROUTE = "team.ChatMessage";

type Mode = "fire-and-forget" | "acknowledged";

export async function run(): Promise<Figure[]> {
  const seconds = benchSeconds();
  const cluster = await startCluster({ modules: [{ module: "login", settings: { scryptN: 1024, ...TEST_LOGIN_LIMITS } }], config: { log: { level: "warn" } } as never });
  try {
    const users: { uid: string; client: Client }[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const { client, uid } = await cluster.loggedInClient(`ptu-${i}`);
      users.push({ uid, client: client as unknown as Client });
    }
    let received = 0;
    for (const u of users) u.client.on(ROUTE, () => received++);
    const rt = cluster.modules[0]!.runtime;
    const table = rt.onlineTable();
    const body = loadProto().push(ROUTE)!.encode({ teamId: "", fromUid: "", fromUsername: "", text: "tick", sentAt: 0 });
    /** The pushToUid of before: look the uid up, publish, no acknowledgement. */
    const fireAndForget = async (uid: string): Promise<void> => {
      const e = await table.lookup(uid);
      if (e !== null) rt.pushEncoded({ ...e, uid }, ROUTE, body);
    };
    const acknowledged = async (uid: string): Promise<void> => {
      await rt.pushToUid(uid, ROUTE, { teamId: "", fromUid: "", fromUsername: "", text: "tick", sentAt: 0 });
    };

    const round = async (mode: Mode): Promise<{ rate: number; p50: number; p99: number; lost: number }> => {
      const push = mode === "acknowledged" ? acknowledged : fireAndForget;
      const hist = new Histogram();
      const before = received;
      let sent = 0;
      const end = Date.now() + seconds * 1_000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: INFLIGHT }, async (_, k) => {
          for (let i = k; Date.now() < end; i += INFLIGHT) {
            const s = performance.now();
            await push(users[i % CLIENTS]!.uid);
            hist.record(performance.now() - s);
            sent++;
          }
        }),
      );
      const elapsed = (performance.now() - t0) / 1_000;
      const deadline = Date.now() + 5_000;
      while (received - before < sent && Date.now() < deadline) await sleep(20);
      return { rate: sent / elapsed, p50: hist.percentile(0.5), p99: hist.percentile(0.99), lost: sent - (received - before) };
    };

    const figures: Figure[] = [];
    const rates: Record<Mode, number[]> = { "fire-and-forget": [], acknowledged: [] };
    await round("fire-and-forget"); // warm-up
    for (const mode of ["fire-and-forget", "acknowledged", "fire-and-forget", "acknowledged"] as Mode[]) {
      step(`${mode}: ${INFLIGHT} in flight to ${CLIENTS} uids for ${seconds} s`);
      const r = await round(mode);
      rates[mode].push(r.rate);
      console.log(`${SCENARIO}: ${mode}: ${Math.round(r.rate)} pushes/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, not received ${r.lost}`);
      figures.push({ scenario: SCENARIO, name: `pushToUid ${mode} ${INFLIGHT} in flight, p99 ${r.p99.toFixed(2)} ms`, value: Math.round(r.rate), unit: "pushes/s" });
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`${SCENARIO}: acknowledged / fire-and-forget = ${(mean(rates.acknowledged) / mean(rates["fire-and-forget"])).toFixed(2)}`);
    return figures;
  } finally {
    await cluster.stop();
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
