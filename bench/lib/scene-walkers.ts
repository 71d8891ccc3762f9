// Helper process of bench/scene.ts: a lean driver of N scene walkers on raw TCP connections to
// one gateway. Args: PORT BOTS USER_PREFIX; env SCENE_WALK_ID (the scene), SCENE_WALK_HZ/SPEED.
// Walkers log in and enter LOGIN_WINDOW at a time, then wait. Signals: SIGHUP starts every
// walker at once (each on its own slot of the 100 ms period), SIGUSR1 starts the measured
// window (the tally is reset), SIGUSR2 ends it (`result <json>`: the window's counts), SIGTERM
// prints `final <json>` (errors, kicks and closes over the whole run) and exits.
// Prints `ready`, then `progress {"entered","failed"}` every 500 ms.
//
// What keeps it lean: moves are frames written from a prefix encoded once, pushes are counted by
// scanning bytes (scene-frames.ts), the clock for move → receipt is read once per socket read,
// and one 10 ms timer moves every walker whose slot came (no timer or promise per walker).
import { connect as netConnect, type Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { login, scene } from "../../src/generated/proto.js";
import { codeName } from "../../src/protocol/errors.js";
import { FrameDecoder, type FrameSink, type FramingError } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame } from "../../src/protocol/packet.js";
import { loadProto } from "../../src/proto/registry.js";
import { RandomWalk, mathRandomInt } from "../scenarios/lib/random-walk.js";
import { WalkTally, sendClock } from "../scenarios/lib/walk-tally.js";
import { MoveFrames, ScenePush, packetKind, scanPush } from "./scene-frames.js";

const [port, bots] = process.argv.slice(2, 4).map(Number) as [number, number];
const userPrefix = process.argv[4] ?? "walker";
const SCENE_ID = process.env.SCENE_WALK_ID ?? "bench-scene";
const HZ = Number(process.env.SCENE_WALK_HZ ?? 10);
const SPEED = Number(process.env.SCENE_WALK_SPEED ?? 15);
const SIZE = 1000;
/** Walkers logging in and entering at the same time. */
const LOGIN_WINDOW = 32;
const SLOT_MS = 10;
const SLOTS = Math.max(1, Math.round(1000 / HZ / SLOT_MS));
/** A walker whose socket holds more than this unsent skips its move (counted): the gateway is not reading. */
const MAX_UNSENT_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
const PASSWORD = "bench-password-1";
const RETRIED = new Set(["RATE_LIMITED", "TIMEOUT", "UNAVAILABLE"]);
const SAMPLES = 5;

const registry = loadProto();
const frames = new MoveFrames();
const tally = new WalkTally();
const correctionCodec = registry.push<scene.Correction>("scene.Correction")!;
/** sendClock() at the last socket read: every push of one read arrived at the same time. */
let clock = sendClock();

/** What went wrong besides the counted pushes, by kind, with the first few messages of each. */
const trouble = {
  /** ERROR packets with id 0 (refused NOTIFYs), by code name. */
  errors: {} as Record<string, number>,
  errorSamples: [] as string[],
  kicks: 0,
  kickSamples: [] as string[],
  /** Connections that ended while walking (kicked or not). */
  closed: 0,
  closeSamples: [] as string[],
  /** Moves not written because the socket's unsent bytes passed MAX_UNSENT_BYTES. */
  backedUp: 0,
  failures: [] as string[],
};

/** The same counts over the whole run (walking, the window and after it), never reset. */
const whole = { errors: {} as Record<string, number>, kicks: 0, closed: 0 };

function sample(list: string[], text: string): void {
  if (list.length < SAMPLES) list.push(text);
}

class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

interface Pending {
  resolve(body: Uint8Array): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One walker: its connection, its frame decoder and its walk. */
class Walker implements FrameSink {
  readonly walk = new RandomWalk({ size: SIZE, speed: SPEED, hz: HZ }, mathRandomInt);
  readonly decoder = new FrameDecoder(16 * 1024 * 1024, this);
  socket: Socket | null = null;
  open = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: "127.0.0.1", port });
      s.setNoDelay(true);
      s.once("connect", () => {
        this.open = true;
        resolve();
      });
      s.on("data", (chunk: Buffer) => {
        clock = sendClock();
        this.decoder.push(chunk);
      });
      s.on("error", (err) => reject(err));
      s.on("close", () => {
        if (this.open && walking) {
          trouble.closed++;
          whole.closed++;
          sample(trouble.closeSamples, "connection closed by the gateway while walking");
        }
        this.open = false;
        for (const p of this.pending.values()) p.reject(new Error("connection closed"));
        this.pending.clear();
      });
      this.socket = s;
    });
  }

  request<T>(route: string, msg: object): Promise<T> {
    const codec = registry.route(route)!;
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError("TIMEOUT", `${route}: no answer in ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.socket!.write(encodeFrame(PacketKind.REQUEST, id, route, codec.request.encode(msg as never)));
    }).then((body) => codec.response.decode(body) as T);
  }

  /** Writes this walker's next move, unless its socket is backed up. */
  move(): void {
    const s = this.socket!;
    if (!this.open) return;
    if (s.writableLength > MAX_UNSENT_BYTES) {
      trouble.backedUp++;
      return;
    }
    const w = this.walk;
    w.next();
    s.write(frames.frame(w.x, w.y, w.dir, sendClock()));
    tally.moves++;
  }

  onFrame(packet: Buffer): void {
    const kind = packetKind(packet);
    if (kind === PacketKind.PUSH) {
      if (scanPush(packet, clock, tally) === ScenePush.correction) this.correct(packet);
      return;
    }
    const p = decodePacket(packet);
    if (p === null) return;
    if (p.kind === PacketKind.RESPONSE || (p.kind === PacketKind.ERROR && p.id !== 0)) {
      const pending = this.pending.get(p.id);
      if (pending === undefined) return;
      this.pending.delete(p.id);
      clearTimeout(pending.timer);
      if (p.kind === PacketKind.RESPONSE) pending.resolve(p.body);
      else pending.reject(new RequestError(codeName(p.code), p.message));
    } else if (p.kind === PacketKind.ERROR) {
      const code = codeName(p.code);
      trouble.errors[code] = (trouble.errors[code] ?? 0) + 1;
      whole.errors[code] = (whole.errors[code] ?? 0) + 1;
      sample(trouble.errorSamples, `${code}: ${p.message}`);
    } else if (p.kind === PacketKind.KICK) {
      trouble.kicks++;
      whole.kicks++;
      sample(trouble.kickSamples, `${codeName(p.code)}: ${p.message}`);
    }
  }

  onFramingError(err: FramingError): void {
    sample(trouble.failures, `framing: ${err.reason} (${err.declaredBytes} bytes)`);
    this.socket?.destroy();
  }

  /** A refused move: the walk goes on from where the server has the walker. */
  private correct(packet: Buffer): void {
    const p = decodePacket(packet);
    const self = p === null ? null : correctionCodec.decode(p.body).self;
    if (self) this.walk.place(self.x, self.y);
  }

  close(): void {
    this.socket?.destroy();
  }
}

/** Runs `call` again (up to 5 tries, 0.2-1 s apart) on RATE_LIMITED, TIMEOUT or UNAVAILABLE; `done(code)` means it already worked. */
async function retried<T>(call: () => Promise<T>, done: (code: string) => boolean = () => false): Promise<T | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const code = err instanceof RequestError ? err.code : "CLIENT";
      if (attempt > 1 && done(code)) return null;
      if (attempt >= 5 || !RETRIED.has(code)) throw err;
      await new Promise((r) => setTimeout(r, mathRandomInt(200, 1_000)));
    }
  }
}

const walkers: Walker[] = [];
let failed = 0;
let walking = false;

async function enter(i: number): Promise<void> {
  const w = new Walker();
  try {
    await w.connect();
    const username = `${userPrefix}-${i}`;
    await retried(() => w.request<login.RegisterReply>("login.Register", { username, password: PASSWORD }), (code) => code === "CONFLICT");
    await retried(() => w.request<login.LoginReply>("login.Login", { username, password: PASSWORD }));
    const reply = await retried(() => w.request<scene.EnterReply>("scene.Enter", { sceneId: SCENE_ID, x: w.walk.x, y: w.walk.y }));
    if (reply?.self) w.walk.place(reply.self.x, reply.self.y);
    walkers.push(w);
  } catch (err) {
    failed++;
    sample(trouble.failures, (err as Error).message);
    w.close();
  }
}

/** Every walker's slot of the period: walker i moves in slot i % SLOTS. */
function walkFrom(startAt: number): void {
  const bySlot: Walker[][] = Array.from({ length: SLOTS }, () => []);
  walkers.forEach((w, i) => bySlot[i % SLOTS]!.push(w));
  let done = -1;
  setInterval(() => {
    const slot = Math.floor((Date.now() - startAt) / SLOT_MS);
    // More than a period behind (a starved process): those moves are not sent (moves sent < offered).
    if (slot - done > SLOTS) done = slot - SLOTS;
    for (let s = done + 1; s <= slot; s++) for (const w of bySlot[s % SLOTS]!) w.move();
    done = slot;
  }, SLOT_MS);
}

const lag = monitorEventLoopDelay({ resolution: 10 });
let progress: NodeJS.Timeout | undefined;
process.on("SIGHUP", () => {
  if (walking) return;
  walking = true;
  clearInterval(progress);
  walkFrom(Date.now());
});
process.on("SIGUSR1", () => {
  tally.reset();
  for (const k of Object.keys(trouble.errors)) delete trouble.errors[k];
  trouble.kicks = trouble.closed = trouble.backedUp = 0;
  lag.reset();
  lag.enable();
});
process.on("SIGUSR2", () => {
  lag.disable();
  const open = walkers.filter((w) => w.open).length;
  const { errors, errorSamples, kicks, kickSamples, closed, closeSamples, backedUp, failures } = trouble;
  const result = {
    walking: open,
    entered: walkers.length,
    failed,
    lagP99Ms: lag.percentile(99) / 1e6,
    moves: tally.moves,
    pushes: tally.pushes,
    updates: tally.updates,
    corrections: tally.corrections,
    appeared: tally.appeared,
    disappeared: tally.disappeared,
    errors,
    errorSamples,
    kicks,
    kickSamples,
    closed,
    closeSamples,
    backedUp,
    failures,
    latency: tally.buckets(),
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
});
// The bench stops the driver with SIGTERM a little after the window: what arrived late (errors
// queued behind pushes) is in these totals.
process.on("SIGTERM", () => {
  walking = false;
  const final = { ...whole, errorSamples: trouble.errorSamples, kickSamples: trouble.kickSamples };
  process.stdout.write(`final ${JSON.stringify(final)}\n`, () => {
    for (const w of walkers) w.close();
    process.exit(0);
  });
});

process.stdout.write("ready\n");
// Printed until walking starts: a line written before the bench listens is lost, the next one is not.
progress = setInterval(() => process.stdout.write(`progress ${JSON.stringify({ entered: walkers.length, failed })}\n`), 500);
let nextIndex = 0;
await Promise.all(
  Array.from({ length: Math.min(LOGIN_WINDOW, bots) }, async () => {
    while (nextIndex < bots) await enter(nextIndex++);
  }),
);
