import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { connect as natsConnect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/protocol/errors.js";
import { listInstances } from "../../src/bus/discovery.js";
import { connect as connectClient, type Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG, projectRoot } from "../../src/config/cluster-config.js";
import { createLogger } from "../../src/log/logger.js";
import { startModule, type ModuleHost } from "../../src/module/index.js";
import { FrameDecoder } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame } from "../../src/protocol/packet.js";
import { testConfig } from "../helpers/config.js";
import { freePort, startNats, waitForPort, type RunningServer } from "../helpers/servers.js";
import echoModule from "../../modules/echo/index.js";

const root = projectRoot();
const bin = join(root, "bin", "switchyard.js");
const CONNECTIONS = 1_000;
const BATCH = 250;
const FRAME_TIMEOUT_MS = 4_000;
/** Every hostile connection sends one byte of its frame per tick. */
const TICK_MS = 20;
const BODY_BYTES = 60_000;
/**
 * RSS growth allowed while 1,000 frames trickle in. One buffer per 1-byte segment (the old decoder)
 * here by the time the frames time out (measured +53 MiB); one growing body buffer per frame
 * costs 1 KiB each, the rest is garbage of the reads not yet collected, which grows with the
 * bytes each client manages to trickle before its kick (measured +11 MiB at ~110 bytes per
 * connection, +27 MiB at ~200): the bound sits between that and a buffer per segment.
 */
const MAX_GROWTH_MIB = 40;

/** Resident set size of a process in KiB (Linux /proc). */
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** One hostile connection: what the gateway sent it, and when it was closed. */
interface Trickler {
  socket: Socket;
  sent: number;
  kick: { code: number; message: string } | null;
  heartbeats: number;
  closed: boolean;
}

function openTrickler(port: number): Promise<Trickler> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const t: Trickler = { socket, sent: 0, kick: null, heartbeats: 0, closed: false };
    const decoder = new FrameDecoder(1 << 20, (f) => {
      const p = decodePacket(f);
      if (p?.kind === PacketKind.KICK) t.kick = { code: p.code, message: p.message };
      else if (p?.kind === PacketKind.HEARTBEAT) t.heartbeats++;
    }, () => socket.destroy());
    socket.setNoDelay(true);
    socket.on("data", (c: Buffer) => decoder.push(c));
    socket.on("error", () => undefined);
    socket.on("close", () => (t.closed = true));
    socket.once("connect", () => {
      // greeted first, so the first-packet timeout is out of the picture: only the frame timeout applies
      socket.write(encodeFrame(PacketKind.HEARTBEAT, 0, "", null));
      resolve(t);
    });
    socket.once("error", reject);
  });
}

async function until(what: string, timeoutMs: number, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("1,000 connections trickling frames byte by byte into one gateway process", () => {
  let nats: RunningServer;
  let nc: NatsConnection;
  let gateway: ChildProcess;
  let mod: ModuleHost;
  let good: Client;
  let port: number;
  const tricklers: Trickler[] = [];

  beforeAll(async () => {
    if (!existsSync(join(root, "dist", "src", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` (npm test does it in pretest)");
    nats = await startNats();
    nc = await natsConnect({ servers: nats.url });
    port = await freePort();
    const config = testConfig(nats.url, "redis://127.0.0.1:1", {
      gateways: [{ id: "gw-slow", host: "127.0.0.1", port }],
      gateway: {
        ...DEFAULT_CONFIG.gateway,
        publicRoutes: ["echo.Echo"],
        idleTimeoutMs: 60_000,
        firstPacketTimeoutMs: 60_000,
        frameTimeoutMs: FRAME_TIMEOUT_MS,
        maxFrameBytes: 64 * 1024,
      },
    });
    const configPath = join(config.runtimeDir, "cluster.json");
    writeFileSync(configPath, JSON.stringify({ ...config, log: { level: "warn" } }));
    gateway = spawn(process.execPath, [bin, "gateway", "--config", configPath, "--id", "gw-slow"], { stdio: ["ignore", "ignore", "inherit"] });
    await waitForPort(port);
    mod = await startModule({ definition: echoModule, config, log: createLogger("echo", "echo-slow", process.env.SWITCHYARD_TEST_LOG ?? "silent") });
    good = await connectClient({ host: "127.0.0.1", port, heartbeatMs: 1_000 });
  });

  afterAll(async () => {
    for (const t of tricklers) t.socket.destroy();
    await good?.close();
    await mod?.drain();
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway.once("exit", r));
      gateway.kill("SIGTERM");
      await exited;
    }
    await nc?.close();
    await nats?.stop();
  });

  it(`bounds memory, kicks each slow frame after frameTimeoutMs (${FRAME_TIMEOUT_MS} ms), keeps answering a well-behaved client`, { timeout: 120_000 }, async () => {
    const pid = gateway.pid!;
    for (let i = 0; i < CONNECTIONS; i += BATCH) {
      tricklers.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, CONNECTIONS - i) }, () => openTrickler(port)))));
    }
    await until("every hostile connection to be greeted", 30_000, () => tricklers.every((t) => t.heartbeats > 0));
    await until("the gateway to count every session", 30_000, async () => (await listInstances(nc)).find((x) => x.instance === "gw-slow")?.sessions === CONNECTIONS + 1);
    const before = rssKiB(pid);

    const frame = Buffer.alloc(4 + BODY_BYTES, 0x2a);
    frame.writeUInt32BE(BODY_BYTES, 0);
    const started = Date.now();
    const ticker = setInterval(() => {
      for (const t of tricklers) {
        if (t.closed || t.sent >= frame.length) continue;
        t.socket.write(frame.subarray(t.sent, t.sent + 1));
        t.sent++;
      }
    }, TICK_MS);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 100);

    let trickling = true;
    let sent = 0;
    let answered = 0;
    const goodLoop = (async () => {
      while (trickling) {
        const n = sent++;
        const r = await good.request("echo.Echo", { text: `good-${n}` });
        if (r.text === `good-${n}`) answered++;
        await new Promise((r) => setTimeout(r, 10)); // well-behaved: under the rate limit
      }
    })();

    try {
      await until("every hostile connection to be closed", 60_000, () => tricklers.every((t) => t.closed));
    } finally {
      clearInterval(ticker);
      clearInterval(sampler);
      trickling = false;
    }
    await goodLoop;
    const seconds = (Date.now() - started) / 1000;
    const sentBytes = tricklers.map((t) => t.sent);
    console.log(
      `slow frames: ${CONNECTIONS} connections trickling 1 byte / ${TICK_MS} ms into gateway pid ${pid}; all closed after ${seconds.toFixed(1)} s ` +
        `(bytes sent per connection before its kick: min ${Math.min(...sentBytes)}, max ${Math.max(...sentBytes)}); ` +
        `RSS ${(before / 1024).toFixed(1)} MiB → peak ${(peak / 1024).toFixed(1)} MiB (+${((peak - before) / 1024).toFixed(1)} MiB); ` +
        `well-behaved client: ${answered}/${sent} replies`,
    );

    for (const t of tricklers) {
      expect(t.kick?.code).toBe(ErrorCode.TIMEOUT);
      expect(t.kick?.message).toContain(`did not complete within ${FRAME_TIMEOUT_MS} ms`);
      // the frame was still incomplete: the kick came from the bound, not from a finished frame
      expect(t.sent).toBeLessThan(frame.length);
    }
    expect((peak - before) / 1024).toBeLessThan(MAX_GROWTH_MIB);
    expect(sent).toBeGreaterThan(0);
    expect(answered).toBe(sent);
    expect((await good.request("echo.Echo", { text: "after" })).text).toBe("after");
    expect(gateway.exitCode).toBeNull();
  });
});
