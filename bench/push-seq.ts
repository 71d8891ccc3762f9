// Micro-benchmark: the per-member cost of stamping a session's push sequence number on a shared
// PUSH frame (what the gateway does for every push to a logged-in session). Prints ns per
// member-push over 3 rounds; run `node dist/bench/push-seq.js` after a build.
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
