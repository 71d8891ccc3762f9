import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as connectClient, type Client } from "../../src/client/index.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { DEFAULT_CONFIG, type GatewaySettings } from "../../src/config/cluster-config.js";
import type { echo } from "../../src/generated/proto.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { createLogger } from "../../src/log/logger.js";
import { startModule, type ModuleHost } from "../../src/module/index.js";
import { loadProto } from "../../src/proto/registry.js";
import { FrameDecoder } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame } from "../../src/protocol/packet.js";
import { testConfig } from "../helpers/config.js";
import { startNats, type RunningServer } from "../helpers/servers.js";
import echoModule from "../../modules/echo/index.js";
import { WS_MARKER_ID, endedAsRequired, runWsHostile, wsHostileStream, type Dice } from "./gateway-ws-fuzz.js";
import { RawWsClient } from "./gateway-ws-raw-client.js";

const level = process.env.SWITCHYARD_TEST_LOG ?? "silent";
const TARGET_FRAMES = 100_000;
/** WebSocket messages of the WebSocket half. */
const WS_TARGET_MESSAGES = 30_000;
/** Fuzz connections open at once. */
const PARALLEL = 40;
const MAX_FRAME = 4 * 1024;
const echoCodec = loadProto().message<echo.EchoMessage>("echo.EchoMessage");

/** A small seeded PRNG (mulberry32): a failing run can be replayed with FUZZ_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const rnd = prng(seed);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
};

/** A frame around an arbitrary body (length prefix + body). */
function frame(body: Buffer): Buffer {
  const f = Buffer.allocUnsafe(4 + body.length);
  f.writeUInt32BE(body.length, 0);
  body.copy(f, 4);
  return f;
}

const ROUTES = ["echo.Echo", "echo.WhoAmI", "echo.Sleep", "nosuch.Route", "echo.Nope", "login.Login", "a..b", ".x", "x.", "ünïcode.Røute", "echo.Echo.Extra", "", "a".repeat(300) + ".B"];

/** Frames that do not end the connection by themselves (answers, errors, or nothing). */
function benignFrame(): Buffer {
  switch (int(8)) {
    case 0:
    case 1: // a valid-looking request with a random body (echo decodes it, or answers BAD_REQUEST)
      return encodeFrame(PacketKind.REQUEST, 1 + int(1_000_000), pick(["echo.Echo", "echo.WhoAmI"]), bytes(int(64)));
    case 2: // a well-formed request for echo
      return encodeFrame(PacketKind.REQUEST, 1 + int(1_000_000), "echo.Echo", echoCodec.encode({ text: "fuzz", data: bytes(int(32)) }));
    case 3: // unknown or malformed routes
      return encodeFrame(PacketKind.REQUEST, 1 + int(1_000_000), pick(ROUTES), bytes(int(16)));
    case 4: // a request without an id
      return encodeFrame(PacketKind.REQUEST, 0, "echo.Echo", null);
    case 5:
      return encodeFrame(PacketKind.NOTIFY, 0, pick(ROUTES), bytes(int(32)));
    case 6:
      return encodeFrame(PacketKind.HEARTBEAT, 0, "", null);
    default: // a request whose error/message fields are set (ignored by the gateway)
      return encodeFrame(PacketKind.REQUEST, 1 + int(1_000_000), "echo.Echo", null, int(20), "x".repeat(int(40)));
  }
}

/**
 * How the gateway must end a connection after a fatal item: KICK PROTOCOL at once, KICK TIMEOUT
 * "slow frame" (an incomplete frame, after frameTimeoutMs), or any close (a mutated frame may
 * still be valid or incomplete; random bytes may parse).
 */
type Ending = "protocol" | "slow frame" | "any";

/** Frames (or byte sequences) after which the gateway must close the connection, and how. */
function fatalFrame(): { data: Buffer; ending: Ending } {
  switch (int(9)) {
    case 0: // garbage body
      return { data: frame(bytes(1 + int(200))), ending: "any" };
    case 1: // oversized length prefix, body never sent
      return { data: Buffer.from([...u32(MAX_FRAME + 1 + int(0x7fffffff)), ...bytes(int(16))]), ending: "protocol" };
    case 2: // empty frame
      return { data: u32(0), ending: "protocol" };
    case 3: // kinds a client may not send
      return { data: encodeFrame(pick([PacketKind.RESPONSE, PacketKind.PUSH, PacketKind.KICK, PacketKind.ERROR, 0, 7, 99, 0x7fffffff]), int(100), "echo.Echo", bytes(int(8))), ending: "protocol" };
    case 4: // garbage protobuf: a truncated varint / a length running past the end / bad wire type
      return { data: frame(pick([Buffer.from([0x08, 0xff, 0xff]), Buffer.from([0x1a, 0x7f, 0x41]), Buffer.from([0x0f, 0x01]), Buffer.from([0x22, 0xff, 0xff, 0xff, 0xff, 0x0f])])), ending: "protocol" };
    case 5: // a valid frame with random bytes flipped (often still fatal, sometimes valid or cut)
      return { data: mutate(encodeFrame(PacketKind.REQUEST, 1 + int(1000), "echo.Echo", bytes(int(32)))), ending: "any" };
    case 6: // raw text: a NATS or HTTP line read as a length prefix
      return { data: Buffer.from(pick(["PUB svc.echo.Echo 5\r\nhello\r\n", "GET / HTTP/1.1\r\n\r\n", "SUB > 1\r\n"])), ending: "protocol" };
    case 7: // truncated: a frame announcing more bytes than ever come (then the frame timeout)
      return { data: encodeFrame(PacketKind.REQUEST, 5, "echo.Echo", bytes(100)).subarray(0, 4 + int(50)), ending: "slow frame" };
    default: // field number 0
      return { data: frame(Buffer.from([0x00, 0x01])), ending: "protocol" };
  }
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** Flips 1-4 bytes of a frame (prefix included), sometimes cuts or extends it. */
function mutate(f: Buffer): Buffer {
  const out = Buffer.from(f);
  for (let i = 1 + int(4); i > 0; i--) out[int(out.length)] = int(256);
  const r = int(4);
  if (r === 0) return out.subarray(0, int(out.length));
  if (r === 1) return Buffer.concat([out, bytes(1 + int(8))]);
  return out;
}

/** Id of the last request of a stream that does not end with a fatal frame. */
const MARKER_ID = 0xfffffff0;

/**
 * One hostile connection's stream: 20-150 benign-but-hostile frames (each one is processed: no
 * earlier frame ends the connection), then either a fatal item (the gateway must close) or a
 * marker request (the gateway must answer it, after everything before it).
 */
function hostileStream(): { data: Buffer; frames: number; fatal: boolean; ending: Ending } {
  const parts: Buffer[] = [];
  const n = 20 + int(130);
  for (let i = 0; i < n; i++) parts.push(benignFrame());
  const fatal = rnd() < 0.6;
  const last = fatal ? fatalFrame() : { data: encodeFrame(PacketKind.REQUEST, MARKER_ID, "echo.Echo", echoCodec.encode({ text: "marker" })), ending: "any" as const };
  parts.push(last.data);
  return { data: Buffer.concat(parts), frames: parts.length, fatal, ending: last.ending };
}

/** Outcome of one hostile connection. */
interface Outcome {
  errors: number;
  kicks: number;
  responses: number;
  closedByGateway: boolean;
  markerAnswered: boolean;
  /** Closed by the idle sweep (KICK TIMEOUT): a long queue kept the client silent too long. */
  idleKicked: boolean;
  /** Code and message of the KICK received, if any. */
  kick: { code: number; message: string } | null;
}

/**
 * Sends a stream in random chunks; resolves when the gateway closes the connection, or (for a
 * stream ending with the marker) once the marker is answered: then everything before it was handled.
 */
function runHostile(port: number, data: Buffer): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const o: Outcome = { errors: 0, kicks: 0, responses: 0, closedByGateway: false, markerAnswered: false, idleKicked: false, kick: null };
    const socket: Socket = connect(port, "127.0.0.1");
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => {
      done = true;
      socket.destroy();
      reject(new Error(`a hostile connection got neither an error nor a close within 15 s (seed ${seed})`));
    }, 15_000);
    const decoder = new FrameDecoder(
      1 << 20,
      (f) => {
        const p = decodePacket(f);
        if (p === null) return reject(new Error("the gateway sent a malformed packet"));
        if (p.kind === PacketKind.ERROR) o.errors++;
        else if (p.kind === PacketKind.KICK) {
          o.kicks++;
          o.kick = { code: p.code, message: p.message };
          if (p.code === ErrorCode.TIMEOUT && p.message.startsWith("idle")) o.idleKicked = true;
        }
        else if (p.kind === PacketKind.RESPONSE) o.responses++;
        if (p.id === MARKER_ID) {
          o.markerAnswered = true;
          finish();
        }
      },
      () => reject(new Error("the gateway broke the framing")),
    );
    socket.on("data", (c: Buffer) => decoder.push(c));
    socket.on("error", () => undefined); // a reset after a kick is fine
    socket.on("close", () => {
      o.closedByGateway = true;
      finish();
    });
    socket.on("connect", () => {
      // Random chunking, so frames are split across reads at arbitrary points.
      let off = 0;
      while (off < data.length) {
        const len = rnd() < 0.7 ? data.length - off : 1 + int(64);
        socket.write(data.subarray(off, off + len));
        off += len;
      }
    });
  });
}

describe("gateway fuzz (real nats-server and echo module)", () => {
  let nats: RunningServer;
  let gw: Gateway;
  let mod: ModuleHost;
  let good: Client;

  beforeAll(async () => {
    nats = await startNats();
    const config = testConfig(nats.url, "redis://127.0.0.1:1");
    // hostile echo.Sleep requests (random bodies: up to 60 s) would hold the module's drain at the end
    config.modules.echo = { instances: 1, ...config.modules.echo, drainTimeoutMs: 1_000 };
    const settings: GatewaySettings = {
      ...DEFAULT_CONFIG.gateway,
      publicRoutes: ["echo.Echo", "echo.WhoAmI", "echo.Sleep", "nosuch.Route", "echo.Nope"],
      maxFrameBytes: MAX_FRAME,
      idleTimeoutMs: 3_000,
      frameTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      // the well-behaved client paces itself below this; hostile streams stay under the burst
      rateLimit: { perSecond: 2_000, burst: 400 },
    };
    gw = await createGateway({ id: "gw-fuzz", port: 0, wsPort: 0, settings, nats: { url: nats.url }, logger: createLogger("gateway", "gw-fuzz", level), announce: false });
    mod = await startModule({ definition: echoModule, config, log: createLogger("echo", "echo-fuzz", level) });
    good = await connectClient({ ...gw.address(), heartbeatMs: 1_000 });
  });

  afterAll(async () => {
    await good?.close();
    await mod?.drain();
    await gw?.stop();
    await nats?.stop();
  });

  it(`survives ≥ ${TARGET_FRAMES} hostile frames while a well-behaved client gets every reply`, { timeout: 120_000 }, async () => {
    const port = gw.address().port;
    let fuzzing = true;
    let sent = 0;
    let answered = 0;
    const goodLoop = (async () => {
      while (fuzzing) {
        const batch = Array.from({ length: 10 }, () => {
          const n = sent++;
          return good.request("echo.Echo", { text: `good-${n}` }).then((r) => {
            if (r.text === `good-${n}`) answered++;
          });
        });
        await Promise.all(batch);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    let frames = 0;
    let connections = 0;
    const totals = { errors: 0, kicks: 0, responses: 0, closed: 0, answeredOrClosed: 0, fatal: 0, fatalClosed: 0, markers: 0, markersAnswered: 0, markersIdle: 0 };
    /** Fatal items the gateway did not end as they must be ended (e.g. left to the idle sweep). */
    const wrongEndings: string[] = [];
    const started = Date.now();
    const worker = async (): Promise<void> => {
      while (frames < TARGET_FRAMES) {
        const { data, frames: n, fatal, ending } = hostileStream();
        frames += n;
        connections++;
        const o = await runHostile(port, data);
        totals.errors += o.errors;
        totals.kicks += o.kicks;
        totals.responses += o.responses;
        if (o.closedByGateway) totals.closed++;
        if (o.errors + o.kicks > 0 || o.closedByGateway) totals.answeredOrClosed++;
        if (fatal) {
          totals.fatal++;
          if (o.closedByGateway) totals.fatalClosed++;
          const ended =
            ending === "protocol" ? o.kick?.code === ErrorCode.PROTOCOL : ending === "slow frame" ? o.kick?.code === ErrorCode.TIMEOUT && o.kick.message.startsWith("slow frame") : o.closedByGateway;
          if (!ended && wrongEndings.length < 5) wrongEndings.push(`${ending}: got ${JSON.stringify(o.kick)}`);
        } else {
          totals.markers++;
          if (o.markerAnswered) totals.markersAnswered++;
          else if (o.idleKicked && o.closedByGateway) totals.markersIdle++;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    fuzzing = false;
    await goodLoop;
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `gateway fuzz (seed ${seed}): ${frames} frames over ${connections} connections in ${seconds.toFixed(1)} s; ` +
        `hostile connections got ${totals.errors} ERROR, ${totals.kicks} KICK, ${totals.responses} RESPONSE; ` +
        `${totals.fatalClosed}/${totals.fatal} ending in a fatal frame closed, ${totals.markersAnswered}/${totals.markers} others answered to the end (${totals.markersIdle} closed by the idle sweep first); ` +
        `gateway load ${JSON.stringify(gw.load())}; ` +
        `well-behaved client: ${answered}/${sent} replies`,
    );

    expect(frames).toBeGreaterThanOrEqual(TARGET_FRAMES);
    expect(totals.answeredOrClosed).toBe(connections);
    expect(totals.fatalClosed).toBe(totals.fatal);
    expect(wrongEndings).toEqual([]);
    // A stream ending in a marker is answered to the end, or (on a loaded machine, when its queue
    // of ordered echo requests keeps the client silent past idleTimeoutMs) closed by the idle sweep.
    expect(totals.markersAnswered + totals.markersIdle).toBe(totals.markers);
    expect(answered).toBe(sent);
    expect(sent).toBeGreaterThan(0);
    expect(gw.state).toBe("ready");
    // Every hostile session is gone; only the well-behaved one is left.
    for (let i = 0; i < 200 && gw.sessionCount > 1; i++) await new Promise((r) => setTimeout(r, 25));
    expect(gw.sessionCount).toBe(1);
    expect((await good.request("echo.Echo", { text: "after" })).text).toBe("after");
  });

  it(`WebSocket half: survives ≥ ${WS_TARGET_MESSAGES} hostile messages (text, bad opcodes, fragments, oversized, garbage before the upgrade) while a well-behaved WebSocket client gets every reply`, { timeout: 120_000 }, async () => {
    const wsPort = gw.wsAddress()!.port;
    const dice: Dice = { int, chance: (p) => rnd() < p, bytes };
    const wellBehaved = await RawWsClient.connect(`ws://127.0.0.1:${wsPort}/ws`);
    let fuzzing = true;
    let sent = 0;
    let answered = 0;
    const goodLoop = (async () => {
      while (fuzzing) {
        const batch = Array.from({ length: 10 }, () => {
          const n = ++sent;
          return wellBehaved.request(n, "echo.Echo", echoCodec.encode({ text: `ws-good-${n}` }), 10_000).then((p) => {
            if (p.kind === PacketKind.RESPONSE && echoCodec.decode(p.body).text === `ws-good-${n}`) answered++;
          });
        });
        await Promise.all(batch);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const marker = encodeFrame(PacketKind.REQUEST, WS_MARKER_ID, "echo.Echo", echoCodec.encode({ text: "marker" })).subarray(4);
    let messages = 0;
    let connections = 0;
    const totals = { fatal: 0, fatalEnded: 0, http400: 0, markers: 0, markersAnswered: 0, markersIdle: 0, closeCodes: {} as Record<string, number> };
    const wrongEndings: string[] = [];
    const started = Date.now();
    const worker = async (): Promise<void> => {
      while (messages < WS_TARGET_MESSAGES) {
        const stream = wsHostileStream(dice, MAX_FRAME, () => benignFrame().subarray(4), marker);
        messages += stream.messages;
        connections++;
        const o = await runWsHostile(dice, wsPort, stream.data, 15_000);
        const key = o.httpStatus === 101 ? String(o.closeCode) : `http ${o.httpStatus}`;
        totals.closeCodes[key] = (totals.closeCodes[key] ?? 0) + 1;
        if (stream.fatal) {
          totals.fatal++;
          if (o.httpStatus === 400) totals.http400++;
          if (endedAsRequired(stream.ending, o)) totals.fatalEnded++;
          else if (wrongEndings.length < 5) wrongEndings.push(`${stream.ending}: got HTTP ${o.httpStatus}, close ${o.closeCode}, closed ${o.closedByGateway}`);
        } else {
          totals.markers++;
          if (o.markerAnswered) totals.markersAnswered++;
          else if (o.idleKicked && o.closedByGateway) totals.markersIdle++;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    fuzzing = false;
    await goodLoop;
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `gateway WebSocket fuzz (seed ${seed}): ${messages} messages over ${connections} connections in ${seconds.toFixed(1)} s; ` +
        `${totals.fatalEnded}/${totals.fatal} fatal streams ended as required (${totals.http400} by HTTP 400), ` +
        `${totals.markersAnswered}/${totals.markers} others answered to the end (${totals.markersIdle} closed by the idle sweep first); ` +
        `endings ${JSON.stringify(totals.closeCodes)}; well-behaved WebSocket client: ${answered}/${sent} replies`,
    );
    expect(messages).toBeGreaterThanOrEqual(WS_TARGET_MESSAGES);
    expect(wrongEndings).toEqual([]);
    expect(totals.fatalEnded).toBe(totals.fatal);
    expect(totals.markersAnswered + totals.markersIdle).toBe(totals.markers);
    expect(answered).toBe(sent);
    expect(sent).toBeGreaterThan(0);
    expect(gw.state).toBe("ready");
    for (let i = 0; i < 200 && gw.sessionCount > 2; i++) await new Promise((r) => setTimeout(r, 25));
    // the TCP client of the first half and the well-behaved WebSocket client
    expect(gw.sessionCount).toBe(2);
    expect((await wellBehaved.request(++sent, "echo.Echo", echoCodec.encode({ text: "after" }))).kind).toBe(PacketKind.RESPONSE);
    wellBehaved.close();
  });
});
