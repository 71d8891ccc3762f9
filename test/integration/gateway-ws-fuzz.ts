import { connect, type Socket } from "node:net";
import { LENGTH_PREFIX_BYTES } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame } from "../../src/protocol/packet.js";
import { WsOpcode, clientFrame, upgradeRequest } from "./gateway-ws-raw-client.js";

/** The random source of a fuzz run (seeded by the test). */
export interface Dice {
  int(n: number): number;
  chance(p: number): boolean;
  bytes(n: number): Buffer;
}

/**
 * How the gateway must end a hostile WebSocket connection: a close frame with this code, an
 * HTTP 400 before the upgrade, or any close (random bytes may still be valid).
 */
export type WsEnding = 4010 | 1002 | 1007 | 1009 | "http 400" | "any";

/** Id of the last request of a stream that does not end with a fatal item. */
export const WS_MARKER_ID = 0xfffffff1;

/** One hostile WebSocket connection: bytes to send (upgrade included) and how it must end. */
export interface WsHostileStream {
  data: Buffer;
  messages: number;
  fatal: boolean;
  ending: WsEnding;
}

const binary = (d: Dice, packet: Buffer, fin = true): Buffer => clientFrame(WsOpcode.binary, packet, { fin });

/** Messages (as frames) that do not end the connection: packets the gateway answers, pings, fragments. */
function benignFrames(d: Dice, packet: () => Buffer): Buffer[] {
  switch (d.int(5)) {
    case 0: // a ping (answered by a pong, not a packet)
      return [clientFrame(WsOpcode.ping, d.bytes(d.int(125)))];
    case 1: {
      // one packet in 2-4 fragments, a ping between two of them (allowed by RFC 6455)
      const p = packet();
      const cut1 = d.int(p.length + 1);
      const cut2 = cut1 + d.int(p.length - cut1 + 1);
      return [
        clientFrame(WsOpcode.binary, p.subarray(0, cut1), { fin: false }),
        clientFrame(WsOpcode.ping, Buffer.from("mid")),
        clientFrame(WsOpcode.continuation, p.subarray(cut1, cut2), { fin: false }),
        clientFrame(WsOpcode.continuation, p.subarray(cut2), { fin: true }),
      ];
    }
    default:
      return [binary(d, packet())];
  }
}

/** Items after which the gateway must close the connection, and how. */
function fatalItem(d: Dice, maxFrame: number): { frames: Buffer[]; ending: WsEnding } {
  switch (d.int(11)) {
    case 0: // a text message
      return { frames: [clientFrame(WsOpcode.text, Buffer.from(`{"route":"echo.Echo","n":${d.int(1000)}}`))], ending: 4010 };
    case 1: // a text message that is not UTF-8
      return { frames: [clientFrame(WsOpcode.text, Buffer.from([0xc3, 0x28, 0xff]))], ending: 1007 };
    case 2: // reserved opcodes 3-7 and 0xb-0xf
      return { frames: [clientFrame(3 + d.int(5) + (d.chance(0.5) ? 8 : 0), d.bytes(d.int(20)))], ending: 1002 };
    case 3: // an unmasked client frame
      return { frames: [clientFrame(WsOpcode.binary, d.bytes(1 + d.int(20)), { masked: false })], ending: 1002 };
    case 4: // reserved bits set without an extension
      return { frames: [clientFrame(WsOpcode.binary, d.bytes(1 + d.int(20)), { rsv: 1 + d.int(7) })], ending: 1002 };
    case 5: // a continuation with no message started
      return { frames: [clientFrame(WsOpcode.continuation, d.bytes(1 + d.int(20)))], ending: 1002 };
    case 6: // a new data frame inside a fragmented message
      return { frames: [clientFrame(WsOpcode.binary, d.bytes(5), { fin: false }), clientFrame(WsOpcode.binary, d.bytes(5))], ending: 1002 };
    case 7: // a fragmented or oversized control frame
      return { frames: [d.chance(0.5) ? clientFrame(WsOpcode.ping, d.bytes(4), { fin: false }) : clientFrame(WsOpcode.ping, d.bytes(126 + d.int(100)))], ending: 1002 };
    case 8: // a message over maxFrameBytes, whole or in fragments
      return d.chance(0.5)
        ? { frames: [clientFrame(WsOpcode.binary, d.bytes(maxFrame + 1 + d.int(1000)))], ending: 1009 }
        : { frames: [clientFrame(WsOpcode.binary, d.bytes(maxFrame - 10), { fin: false }), clientFrame(WsOpcode.continuation, d.bytes(11 + d.int(100)))], ending: 1009 };
    case 9: // a malformed packet or a kind a client may not send
      return d.chance(0.5)
        ? { frames: [binary(d, Buffer.from([0x22, 0xff, 0xff, 0xff, 0xff, 0x0f]))], ending: 4010 }
        : { frames: [binary(d, packetOf(PacketKind.PUSH, 0, "x.Y"))], ending: 4010 };
    default: // random bytes as a frame header (usually a protocol error, sometimes an incomplete frame)
      return { frames: [d.bytes(2 + d.int(30))], ending: "any" };
  }
}

function packetOf(kind: number, id: number, route: string, body: Uint8Array | null = null): Buffer {
  return encodeFrame(kind, id, route, body).subarray(LENGTH_PREFIX_BYTES);
}

/**
 * One hostile WebSocket stream: sometimes garbage instead of (or before) the upgrade (HTTP 400),
 * else an upgrade, 10-80 benign items, then a fatal item or a marker request that must be answered.
 */
export function wsHostileStream(d: Dice, maxFrame: number, benignPacket: () => Buffer, marker: Buffer): WsHostileStream {
  if (d.chance(0.08)) {
    const garbage = d.chance(0.5) ? d.bytes(1 + d.int(200)) : Buffer.from(`\u0000\u0001${d.bytes(20).toString("latin1")}\r\n\r\n`, "latin1");
    return { data: Buffer.concat([garbage, Buffer.from("\r\n\r\n"), Buffer.from(upgradeRequest("/ws"))]), messages: 1, fatal: true, ending: "http 400" };
  }
  const parts: Buffer[] = [Buffer.from(upgradeRequest("/ws"))];
  const n = 10 + d.int(70);
  let messages = 0;
  for (let i = 0; i < n; i++) {
    const frames = benignFrames(d, benignPacket);
    parts.push(...frames);
    messages++;
  }
  const fatal = d.chance(0.6);
  if (fatal) {
    const f = fatalItem(d, maxFrame);
    parts.push(...f.frames);
    return { data: Buffer.concat(parts), messages: messages + 1, fatal, ending: f.ending };
  }
  parts.push(binary(d, marker));
  return { data: Buffer.concat(parts), messages: messages + 1, fatal, ending: "any" };
}

/** What a hostile WebSocket connection saw. */
export interface WsOutcome {
  httpStatus: number;
  closeCode: number | null;
  kicks: number;
  errors: number;
  responses: number;
  markerAnswered: boolean;
  closedByGateway: boolean;
  idleKicked: boolean;
}

/**
 * Sends a stream in random chunks over a raw TCP socket, reads the gateway's HTTP answer and
 * frames; resolves once the gateway closes the connection or the marker is answered.
 */
export function runWsHostile(d: Dice, port: number, data: Buffer, timeoutMs: number): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    const o: WsOutcome = { httpStatus: 0, closeCode: null, kicks: 0, errors: 0, responses: 0, markerAnswered: false, closedByGateway: false, idleKicked: false };
    const socket: Socket = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let headDone = false;
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
      reject(new Error(`a hostile WebSocket connection was neither answered nor closed within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(why));
    };
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!headDone) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        o.httpStatus = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString("latin1"))?.[1] ?? 0);
        headDone = true;
        buf = o.httpStatus === 101 ? buf.subarray(end + 4) : Buffer.alloc(0);
      }
      if (o.httpStatus !== 101) return;
      // server frames: unmasked, so header = 2 bytes + extended length
      for (;;) {
        if (buf.length < 2) return;
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (buf[1]! & 0x80) return fail("the gateway sent a masked frame");
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === WsOpcode.binary) {
          const p = decodePacket(payload);
          if (p === null) return fail("the gateway sent a malformed packet");
          if (p.kind === PacketKind.KICK) {
            o.kicks++;
            if (p.code === 6 && p.message.startsWith("idle")) o.idleKicked = true;
          } else if (p.kind === PacketKind.ERROR) o.errors++;
          else if (p.kind === PacketKind.RESPONSE) o.responses++;
          if (p.id === WS_MARKER_ID) {
            o.markerAnswered = true;
            finish();
            return;
          }
        } else if (opcode === WsOpcode.close) {
          o.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        } else if (opcode !== WsOpcode.pong) {
          return fail(`the gateway sent opcode ${opcode}`);
        }
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      o.closedByGateway = true;
      finish();
    });
    socket.on("connect", () => {
      let off = 0;
      while (off < data.length) {
        const len = d.chance(0.7) ? data.length - off : 1 + d.int(64);
        socket.write(data.subarray(off, off + len));
        off += len;
      }
    });
  });
}

/** Whether an outcome is the ending a stream must get. */
export function endedAsRequired(ending: WsEnding, o: WsOutcome): boolean {
  if (ending === "http 400") return o.httpStatus === 400 && o.closedByGateway;
  if (ending === "any") return o.closedByGateway;
  return o.closeCode === ending && o.closedByGateway;
}
