import { PacketKind, encodeFrame } from "../../src/protocol/packet.js";

/** The PUSH frame the fan-out baseline (tcp-fanout-server.ts) writes to every member. */
export const FANOUT_FRAME = encodeFrame(PacketKind.PUSH, 0, "bench.Tick", Buffer.alloc(16, 1));
