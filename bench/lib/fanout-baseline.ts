import type { Socket } from "node:net";
import { PacketKind, encodeFrame } from "../../src/protocol/packet.js";
import { openSocket } from "./load.js";
import { freePort, sleep, type ProcessGroup } from "./processes.js";
import { Receivers } from "./receivers.js";

/** The PUSH frame the fan-out baseline (tcp-fanout-server.ts) writes to every member. */
export const FANOUT_FRAME = encodeFrame(PacketKind.PUSH, 0, "bench.Tick", Buffer.alloc(16, 1));

/** The raw TCP fan-out baseline, running: each byte written to `trigger` makes one broadcast. */
export interface FanoutBaseline {
  rx: Receivers;
  trigger: Socket;
  stop(): Promise<void>;
}

/** Starts tcp-fanout-server.ts and `receivers` receiver processes holding `per` sockets each. */
export async function startFanoutBaseline(g: ProcessGroup, receivers: number, per: number): Promise<FanoutBaseline> {
  const fanPort = await freePort();
  const fan = await g.helper("tcp-fanout", "tcp-fanout-server.js", [String(fanPort)]);
  const rx = await Receivers.start(g, "raw-rx", Array.from({ length: receivers }, () => ["raw", String(fanPort), String(per), String(FANOUT_FRAME.length)]));
  // The trigger connection gets the frames too; they are dropped.
  const trigger = await openSocket("127.0.0.1", fanPort);
  trigger.on("data", () => undefined);
  // The client side completes a connect before the server's accept callback has run.
  await sleep(1_000);
  return {
    rx,
    trigger,
    async stop() {
      trigger.destroy();
      await rx.stop();
      await fan.stop();
    },
  };
}
