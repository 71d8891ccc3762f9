// Receiver process of the broadcast scenario. Holds COUNT member connections and prints, each
// time every one of its members has received the k-th broadcast message, "t <k> <ms>": the
// arrival time of the last one in epoch ms (see epochMs(): comparable across processes).
//   node broadcast-receiver.js gw  PORT COUNT NATS_URL CHANNEL [UID_PREFIX]
//     opens COUNT gateway sessions (echo.WhoAmI gives each sid), binds each to uid
//     UID_PREFIX<n> when given (gw.<id>.bind, as the login module does: every push then carries
//     the uid's seq) and joins them to CHANNEL with gw.<id>.cmd commands, as a module would;
//     counts PUSH frames.
//   node broadcast-receiver.js raw PORT COUNT FRAME_BYTES
//     opens COUNT sockets to the raw fan-out server; counts bytes / FRAME_BYTES.
// Prints "ready <count>" once its members are in place, then waits for SIGTERM.
import { connect } from "nats";
import { gatewayBindSubject, gatewayCommandSubject } from "../../src/bus/subjects.js";
import type { cluster } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { openSocket } from "./load.js";
import { openMembers, type Arrivals } from "./members.js";
import { epochMs } from "./receivers.js";

const [mode, portText, countText, a4, a5, a6] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);

/** Counts arrivals and reports each message once all `count` members have it. */
class Tally implements Arrivals {
  private got = 0;
  private next = count;
  private k = 0;
  arrived(n = 1): void {
    this.got += n;
    while (this.got >= this.next) {
      this.k++;
      this.next += count;
      process.stdout.write(`t ${this.k} ${epochMs()}\n`);
    }
  }
}
const tally = new Tally();

if (mode === "gw") {
  const members = await openMembers(port, count, tally);
  const proto = loadProto();
  const cmd = proto.message<cluster.GatewayCommand>("cluster.GatewayCommand");
  const ack = proto.message<cluster.CommandAck>("cluster.CommandAck");
  const nc = await connect({ servers: a4!, noAsyncTraces: true });
  if (a6 !== undefined && a6 !== "") {
    const bound = await Promise.all(members.map((m, i) => nc.request(gatewayBindSubject(m.gatewayId), cmd.encode({ bind: { sid: m.sid, uid: `${a6}${i}`, resume: false, lastSeq: 0, prepare: false, previousLost: false, previousGateway: "", listsPubs: false, recentPubs: [] } }), { timeout: 60_000 })));
    const unbound = bound.map((r) => ack.decode(r.data)).filter((r) => !r.ok);
    if (unbound.length > 0) throw new Error(`${unbound.length} binds refused: ${unbound[0]!.error}`);
  }
  const acks = await Promise.all(members.map((m) => nc.request(gatewayCommandSubject(m.gatewayId), cmd.encode({ join: { sid: m.sid, channel: a5! } }), { timeout: 60_000 })));
  const refused = acks.map((r) => ack.decode(r.data)).filter((r) => !r.ok);
  if (refused.length > 0) throw new Error(`${refused.length} joins refused: ${refused[0]!.error}`);
  await nc.close();
} else if (mode === "raw") {
  const frameBytes = Number(a4);
  for (let i = 0; i < count; i++) {
    const s = await openSocket("127.0.0.1", port);
    s.on("data", (c: Buffer) => tally.arrived(c.length / frameBytes));
    s.on("error", () => undefined);
  }
} else {
  throw new Error(`mode ${mode}: use gw or raw`);
}
process.stdout.write(`ready ${count}\n`);
process.once("SIGTERM", () => process.exit(0));
setInterval(() => undefined, 60_000);
