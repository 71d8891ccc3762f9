import type { Socket } from "node:net";
import { FrameDecoder } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame } from "../../src/protocol/packet.js";
import { openSocket } from "./load.js";

/** One idle client connection that records when PUSH frames (or any bytes) arrive. */
export interface Member {
  socket: Socket;
  /** Session id on its gateway (from echo.WhoAmI), 0 for raw TCP members. */
  sid: number;
  gatewayId: string;
}

/** Whatever counts the PUSH frames arriving on members (a receiver process's tally). */
export interface Arrivals {
  arrived(count?: number): void;
}

/** Decodes an echo.Identity (uid = 1, sid = 2, gateway_id = 3) by hand. */
function decodeIdentity(b: Uint8Array): { sid: number; gatewayId: string } {
  let pos = 0;
  let sid = 0;
  let gatewayId = "";
  while (pos < b.length) {
    const tag = b[pos++]!;
    if ((tag & 7) === 0) {
      let v = 0;
      let mul = 1;
      let x: number;
      do {
        x = b[pos++]!;
        v += (x & 0x7f) * mul;
        mul *= 128;
      } while (x & 0x80);
      if (tag >> 3 === 2) sid = v;
    } else {
      const len = b[pos++]!;
      if (tag >> 3 === 3) gatewayId = Buffer.from(b.subarray(pos, pos + len)).toString("utf8");
      pos += len;
    }
  }
  return { sid, gatewayId };
}

/**
 * Opens `n` connections to a gateway (at most `parallel` handshakes at a time), asks each for
 * its session id with echo.WhoAmI (a public route in the bench config), then counts every PUSH
 * frame that arrives on them in `counter`.
 */
export async function openMembers(port: number, n: number, counter: Arrivals, parallel = 200): Promise<Member[]> {
  const members: Member[] = [];
  const whoami = encodeFrame(PacketKind.REQUEST, 1, "echo.WhoAmI", null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const socket = await openSocket("127.0.0.1", port);
      const member = await new Promise<Member>((resolve, reject) => {
        let m: Member | null = null;
        const decoder = new FrameDecoder(1 << 20, (frame) => {
          const p = decodePacket(frame);
          if (p === null) return;
          if (m === null) {
            if (p.kind !== PacketKind.RESPONSE) return reject(new Error(`WhoAmI failed: ${p.code} ${p.message}`));
            m = { socket, ...decodeIdentity(p.body) };
            resolve(m);
          } else if (p.kind === PacketKind.PUSH) {
            counter.arrived();
          }
        }, () => reject(new Error("framing error")));
        socket.on("data", (c: Buffer) => decoder.push(c));
        socket.on("error", () => undefined);
        socket.write(whoami);
      });
      members.push(member);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return members;
}
