// Micro-benchmark: the per-member cost of a stamped copy of a shared PUSH frame (`stampSeq`: what
// the gateway did for every push to a logged-in session before the seq was written at flush
// time, and still does for the pushes of an away session). Prints ns per member-push over 3
// rounds; run `node dist/bench/push-seq.js` after a build. bench/broadcast.ts measures the path
// as it is now (writeStamped into the socket writer's tick buffer) end to end.
import { PacketKind, encodeFrame, stampSeq } from "../src/protocol/packet.js";

const PUSHES = 2_000_000;
const frame = encodeFrame(PacketKind.PUSH, 0, "bench.Tick", Buffer.alloc(16, 1));
let bytes = 0;
for (let round = 1; round <= 3; round++) {
  const started = process.hrtime.bigint();
  for (let seq = 1; seq <= PUSHES; seq++) bytes += stampSeq(frame, seq).length;
  const ns = Number(process.hrtime.bigint() - started) / PUSHES;
  console.log(`push-seq: stampSeq of a ${frame.length}-byte PUSH frame: ${ns.toFixed(1)} ns per member-push (round ${round}, ${PUSHES} pushes)`);
}
console.log(`push-seq: ${bytes} bytes stamped`);
