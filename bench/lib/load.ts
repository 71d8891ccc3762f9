import { connect as netConnect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import { FrameDecoder, LENGTH_PREFIX_BYTES } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame, type Packet } from "../../src/protocol/packet.js";
import { sleep } from "./processes.js";

/** Latency histogram: 10 µs buckets up to 10 s, no allocation per sample. */
export class Histogram {
  private readonly buckets = new Uint32Array(1_000_000);
  count = 0;
  private max = 0;

  record(ms: number): void {
    let i = Math.floor(ms * 100);
    if (i >= this.buckets.length) i = this.buckets.length - 1;
    if (i < 0) i = 0;
    this.buckets[i]!++;
    this.count++;
    if (i > this.max) this.max = i;
  }

  /** Percentile in ms (q in 0..1). */
  percentile(q: number): number {
    if (this.count === 0) return NaN;
    const target = Math.ceil(this.count * q);
    let seen = 0;
    for (let i = 0; i <= this.max; i++) {
      seen += this.buckets[i]!;
      if (seen >= target) return (i + 1) / 100;
    }
    return (this.max + 1) / 100;
  }

  reset(): void {
    this.buckets.fill(0, 0, this.max + 1);
    this.count = 0;
    this.max = 0;
  }

  /** The non-empty buckets as [index, count, index, count, …] (to merge histograms of several processes). */
  toSparse(): number[] {
    const out: number[] = [];
    for (let i = 0; i <= this.max; i++) if (this.buckets[i]! > 0) out.push(i, this.buckets[i]!);
    return out;
  }

  /** Adds the samples of another histogram's `toSparse()`. */
  addSparse(pairs: readonly number[]): void {
    for (let k = 0; k + 1 < pairs.length; k += 2) {
      const i = pairs[k]!;
      this.buckets[i]! += pairs[k + 1]!;
      this.count += pairs[k + 1]!;
      if (i > this.max) this.max = i;
    }
  }
}

/** Result of one fixed-time measurement. */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Replies counted in the window. */
  ok: number;
  /** ERROR replies counted in the window, by wire code. */
  errors: Record<number, number>;
  seconds: number;
}

/** What a wire-protocol load run does. */
export interface WireLoadSpec {
  host?: string;
  port: number;
  /** A WebSocket URL (ws://host:port/ws): the connections are WebSockets there, `host`/`port` unused. */
  ws?: string;
  connections: number;
  /** Requests kept in flight per connection. */
  inflight: number;
  /**
   * The request frames' route and body for in-flight slot `slot` of connection `connection`
   * (ids are slot+1, reused: each slot has one request in flight at a time). A mix of routes
   * should depend on both: at 1 in flight per connection, `slot` is always 0.
   */
  request(slot: number, connection: number): { route: string; body: Uint8Array };
  warmupMs: number;
  measureMs: number;
  /** Called when the measurement window opens and when it closes (e.g. to read CPU times). */
  onWindow?(edge: "start" | "end"): void;
  /** Runs on each connection before the load starts (e.g. login); `call` waits for the reply. */
  prepare?(call: (route: string, body: Uint8Array) => Promise<Packet>, index: number): Promise<void>;
}

const PREPARE_ID = 0x7ffffff0;

/**
 * A lean load generator speaking the client wire protocol (not the SDK: its cost would be
 * measured too). Every connection keeps `inflight` requests outstanding; the frames answering
 * one TCP chunk are re-sent in one write. The same generator drives the raw TCP echo baseline.
 */
export async function runWireLoad(spec: WireLoadSpec): Promise<LoadResult> {
  const hist = new Histogram();
  const errors: Record<number, number> = {};
  let measuring = false;
  let stopping = false;
  let ok = 0;
  let outstanding = 0;
  const conns: LoadPipe[] = [];
  const starts: Promise<void>[] = [];
  const senders: (() => void)[] = [];
  for (let c = 0; c < spec.connections; c++) {
    starts.push(
      (async () => {
        const socket = spec.ws !== undefined ? await openWsPipe(spec.ws) : tcpPipe(await openSocket(spec.host ?? "127.0.0.1", spec.port));
        conns.push(socket);
        const frames: Buffer[] = [];
        for (let s = 0; s < spec.inflight; s++) {
          const r = spec.request(s, c);
          frames.push(encodeFrame(PacketKind.REQUEST, s + 1, r.route, r.body));
        }
        const sentAt = new Float64Array(spec.inflight);
        let prepWaiter: ((p: Packet) => void) | null = null;
        let batch: Buffer[] = [];
        socket.listen(
          (frame) => {
            const p = decodePacket(frame);
            if (p === null) throw new Error("load: malformed packet from the server");
            if (p.id === PREPARE_ID && prepWaiter !== null) {
              const w = prepWaiter;
              prepWaiter = null;
              w(p);
              return;
            }
            if (p.kind === PacketKind.PUSH || p.kind === PacketKind.HEARTBEAT) return;
            if (p.kind === PacketKind.KICK) throw new Error(`load: kicked: ${p.code} ${p.message}`);
            const slot = p.id - 1;
            outstanding--;
            if (measuring) {
              if (p.kind === PacketKind.ERROR) errors[p.code] = (errors[p.code] ?? 0) + 1;
              else ok++;
              hist.record(performance.now() - sentAt[slot]!);
            }
            if (!stopping) {
              sentAt[slot] = performance.now();
              outstanding++;
              batch.push(frames[slot]!);
            }
          },
          () => {
            if (batch.length > 0) {
              socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
              batch = [];
            }
          },
        );
        if (spec.prepare) {
          await spec.prepare(
            (route, body) =>
              new Promise<Packet>((resolve) => {
                prepWaiter = resolve;
                socket.write(encodeFrame(PacketKind.REQUEST, PREPARE_ID, route, body));
              }),
            c,
          );
        }
        senders.push(() => {
          const now = performance.now();
          sentAt.fill(now);
          outstanding += spec.inflight;
          socket.write(Buffer.concat(frames));
        });
      })(),
    );
  }
  await Promise.all(starts);
  for (const send of senders) send();
  await sleep(spec.warmupMs);
  hist.reset();
  ok = 0;
  measuring = true;
  spec.onWindow?.("start");
  const t0 = performance.now();
  await sleep(spec.measureMs);
  measuring = false;
  spec.onWindow?.("end");
  const seconds = (performance.now() - t0) / 1000;
  stopping = true;
  const deadline = Date.now() + 5_000;
  while (outstanding > 0 && Date.now() < deadline) await sleep(20);
  for (const s of conns) s.destroy();
  const errCount = Object.values(errors).reduce((a, b) => a + b, 0);
  return { rps: (ok + errCount) / seconds, p50: hist.percentile(0.5), p99: hist.percentile(0.99), ok, errors, seconds };
}

/** Opens a TCP connection (no Nagle). */
export function openSocket(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port, noDelay: true });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/**
 * One load connection: writes length-prefixed frames (several at once), hands each received
 * packet to `onPacket` and calls `afterBurst` after each read (to re-send the burst's requests).
 */
interface LoadPipe {
  write(frames: Buffer): void;
  listen(onPacket: (packet: Buffer) => void, afterBurst: () => void): void;
  destroy(): void;
}

/** A TCP connection as a LoadPipe (frames split by the project's FrameDecoder). */
function tcpPipe(socket: Socket): LoadPipe {
  return {
    write: (frames) => void socket.write(frames),
    listen(onPacket, afterBurst) {
      const decoder = new FrameDecoder(1 << 24, onPacket, (err) => {
        throw new Error(`load: framing error ${err.reason}`);
      });
      socket.on("data", (chunk: Buffer) => {
        decoder.push(chunk);
        afterBurst();
      });
    },
    destroy: () => socket.destroy(),
  };
}

/** Opens a WebSocket (the `ws` package, no compression) as a LoadPipe: one packet per binary message. */
function openWsPipe(url: string): Promise<LoadPipe> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("error", reject);
    ws.once("open", () => {
      ws.off("error", reject);
      resolve({
        write(frames) {
          for (let off = 0; off + LENGTH_PREFIX_BYTES <= frames.length; ) {
            const end = off + LENGTH_PREFIX_BYTES + frames.readUInt32BE(off);
            ws.send(frames.subarray(off + LENGTH_PREFIX_BYTES, end));
            off = end;
          }
        },
        listen(onPacket, afterBurst) {
          ws.on("message", (data: Buffer) => {
            onPacket(data);
            afterBurst();
          });
        },
        destroy: () => ws.terminate(),
      });
    });
  });
}
