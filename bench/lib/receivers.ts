import { performance } from "node:perf_hooks";
import { LIB_DIR, type BenchProcess, type ProcessGroup } from "./processes.js";
import { join } from "node:path";

/**
 * Wall-clock ms with sub-ms resolution, comparable between processes on one machine
 * (`process.hrtime` and `performance.now()` alone are per process).
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The receiver processes of the broadcast scenario (bench/lib/broadcast-receiver.ts): members
 * are spread over several processes so that reading 10,000 sockets is not itself the bottleneck.
 * Each reports, per broadcast message, when its last member had it.
 */
export class Receivers {
  private readonly procs: BenchProcess[];
  /** Per receiver: arrival time (epoch ms) of message k at index k-1. */
  private readonly times: number[][];
  private waiter: { k: number; resolve: (at: number) => void } | null = null;

  private constructor(procs: BenchProcess[]) {
    this.procs = procs;
    this.times = procs.map(() => []);
    procs.forEach((p, i) => {
      let rest = "";
      p.proc.stdout!.on("data", (chunk: Buffer) => {
        const lines = (rest + chunk.toString("utf8")).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          const m = /^t (\d+) ([\d.]+)$/.exec(line);
          if (m) this.times[i]![Number(m[1]) - 1] = Number(m[2]);
        }
        this.check();
      });
    });
  }

  /**
   * Starts `argsOf.length` receivers at once (`argsOf[i]`: the receiver's arguments) and
   * resolves once all of them are ready. `script`: another receiver of bench/lib speaking the
   * same stdout lines ("ready", "t <k> <ms>"), e.g. chat-receiver.js.
   */
  static async start(g: ProcessGroup, name: string, argsOf: string[][], scriptName = "broadcast-receiver.js"): Promise<Receivers> {
    const script = join(LIB_DIR, scriptName);
    const procs = await Promise.all(argsOf.map((args, i) => g.spawn(`${name}-${i + 1}`, process.execPath, [script, ...args], { readyLine: "ready", timeoutMs: 180_000 })));
    return new Receivers(procs);
  }

  /** Resolves with the time (epoch ms) the last member of all receivers had message `k` (1-based). */
  waitFor(k: number, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        const have = this.times.map((ts) => ts.length);
        reject(new Error(`message ${k} not delivered to every receiver within ${timeoutMs} ms (messages complete per receiver: ${have.join(", ")})`));
      }, timeoutMs);
      this.waiter = {
        k,
        resolve: (at) => {
          clearTimeout(t);
          resolve(at);
        },
      };
      this.check();
    });
  }

  /** Stops the receiver processes. */
  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
  }

  private check(): void {
    const w = this.waiter;
    if (w === null) return;
    let last = 0;
    for (const ts of this.times) {
      const at = ts[w.k - 1];
      if (at === undefined) return;
      if (at > last) last = at;
    }
    this.waiter = null;
    w.resolve(last);
  }
}
