import { connect, type NatsConnection } from "nats";
import { performance } from "node:perf_hooks";
import { Histogram, type LoadResult } from "./load.js";
import { sleep } from "./processes.js";

/** What a raw `nc.request()` run does. */
export interface NatsLoadSpec {
  url: string;
  subject: string;
  payload: Uint8Array;
  /** Requests kept in flight. */
  inflight: number;
  warmupMs: number;
  measureMs: number;
  /** connect({ noAsyncTraces }) — false is nats.js' default. */
  noAsyncTraces: boolean;
}

/**
 * The raw baseline: `inflight` loops each awaiting `nc.request()` (a promise, timer and inbox
 * per call, as nats.js does it) against a responder in another process.
 */
export async function runNatsRequestLoad(spec: NatsLoadSpec): Promise<LoadResult> {
  const nc: NatsConnection = await connect({ servers: spec.url, noAsyncTraces: spec.noAsyncTraces });
  const hist = new Histogram();
  let ok = 0;
  let failed = 0;
  let measuring = false;
  let stopping = false;
  const loop = async (): Promise<void> => {
    while (!stopping) {
      const t = performance.now();
      try {
        await nc.request(spec.subject, spec.payload, { timeout: 5_000 });
        if (measuring) {
          ok++;
          hist.record(performance.now() - t);
        }
      } catch {
        if (measuring) failed++;
      }
    }
  };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < spec.inflight; i++) loops.push(loop());
  await sleep(spec.warmupMs);
  hist.reset();
  ok = 0;
  failed = 0;
  measuring = true;
  const t0 = performance.now();
  await sleep(spec.measureMs);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopping = true;
  await Promise.all(loops);
  await nc.close();
  return { rps: (ok + failed) / seconds, p50: hist.percentile(0.5), p99: hist.percentile(0.99), ok, errors: failed > 0 ? { 0: failed } : {}, seconds };
}
