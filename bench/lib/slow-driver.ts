// Load driver process of the slow-clients scenario. Holds COUNT client connections to one
// gateway; each registers, logs in and creates a team once, then, on a DriverRun request on
// NATS (bench/lib/slow-plan.ts), sends `rate` requests per second (open loop, evenly spread
// over the connections, cycling rank/team/game routes) for a warmup and a measured window,
// and answers a DriverResult: latencies of the requests sent in the window, errors, pushes.
//   node slow-driver.js NAME PORT COUNT NATS_URL USER_PREFIX
// Prints "ready <count>" once every connection is logged in.
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { connect, type Msg } from "nats";
import type { login } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { FrameDecoder } from "../../src/protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame, type Packet } from "../../src/protocol/packet.js";
import { Histogram, openSocket } from "./load.js";
import { SLOW_BOARD, SLOW_ROUTES, driverSubject, type DriverResult, type DriverRun, type DriverUids } from "./slow-plan.js";

const [name, portText, countText, natsUrl, prefix] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
/** Requests a connection may have waiting; past it a due request is skipped (counted). */
const MAX_OUTSTANDING = 64;
/** Slots of the send-time table (ids are consecutive: a power of two well above MAX_OUTSTANDING). */
const SLOTS = 256;
const PREPARE_ID = 0x7ffffff0;
const PASSWORD = "slow-password-1";

const proto = loadProto();
const enc = {
  register: proto.message<object>("login.RegisterRequest"),
  login: proto.message<object>("login.LoginRequest"),
  loginReply: proto.message<login.LoginReply>("login.LoginReply"),
  create: proto.message<object>("team.CreateRequest"),
  submit: proto.message<object>("rank.SubmitRequest"),
  top: proto.message<object>("rank.TopRequest"),
  listRooms: proto.message<object>("game.ListRoomsRequest"),
};
const submitBodies = Array.from({ length: 16 }, (_, i) => enc.submit.encode({ board: SLOW_BOARD, score: 1 + i * 61 }));
const topBody = enc.top.encode({ board: SLOW_BOARD, n: 10 });
const listRoomsBody = enc.listRooms.encode({ mode: "tictactoe" });
const EMPTY = new Uint8Array(0);

let measuring = false;
const hist = new Histogram();
let sent = 0;
let ok = 0;
let skipped = 0;
let pushes = 0;
let inWindowOutstanding = 0;
/** Requests waiting for a reply, on all connections. */
let outstandingAll = 0;
const errors: Record<string, number> = {};

/** One client connection and its requests in flight. */
class Conn {
  uid = "";
  nextId = 0;
  outstanding = 0;
  turn = 0;
  readonly sentAt = new Float64Array(SLOTS);
  readonly inWindow = new Uint8Array(SLOTS);
  private waiter: ((p: Packet) => void) | null = null;

  constructor(readonly socket: Socket) {
    const decoder = new FrameDecoder(1 << 20, { onFrame: (f) => this.onFrame(f), onFramingError: () => fail(`${name}: framing error from the gateway`) });
    socket.on("data", (c: Buffer) => decoder.push(c));
    socket.on("error", (err) => fail(`${name}: socket error ${err.message}`));
  }

  call(route: string, body: Uint8Array): Promise<Packet> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.socket.write(encodeFrame(PacketKind.REQUEST, PREPARE_ID, route, body));
    });
  }

  send(now: number): void {
    if (this.outstanding >= MAX_OUTSTANDING) {
      if (measuring) skipped++;
      return;
    }
    const id = (this.nextId = this.nextId >= 0x3fffffff ? 1 : this.nextId + 1);
    const route = SLOW_ROUTES[this.turn++ % SLOW_ROUTES.length]!;
    const body = route === "rank.Submit" ? submitBodies[id & 15]! : route === "rank.Top" ? topBody : route === "game.ListRooms" ? listRoomsBody : EMPTY;
    const slot = id & (SLOTS - 1);
    this.sentAt[slot] = now;
    this.inWindow[slot] = measuring ? 1 : 0;
    if (measuring) {
      sent++;
      inWindowOutstanding++;
    }
    this.outstanding++;
    outstandingAll++;
    this.socket.write(encodeFrame(PacketKind.REQUEST, id, route, body));
  }

  private onFrame(frame: Buffer): void {
    const p = decodePacket(frame);
    if (p === null) return fail(`${name}: malformed packet from the gateway`);
    if (p.kind === PacketKind.PUSH) {
      if (measuring) pushes++;
      return;
    }
    if (p.kind === PacketKind.KICK) return fail(`${name}: kicked: ${p.code} ${p.message}`);
    if (p.id === PREPARE_ID && this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w(p);
      return;
    }
    if (p.kind !== PacketKind.RESPONSE && p.kind !== PacketKind.ERROR) return;
    this.outstanding--;
    outstandingAll--;
    const slot = p.id & (SLOTS - 1);
    if (this.inWindow[slot] === 1) {
      this.inWindow[slot] = 0;
      inWindowOutstanding--;
      hist.record(performance.now() - this.sentAt[slot]!);
      if (p.kind === PacketKind.ERROR) errors[p.code] = (errors[p.code] ?? 0) + 1;
      else ok++;
    }
  }
}

function fail(reason: string): never {
  process.stderr.write(`${reason}\n`);
  process.exit(1);
}

async function expectOk(p: Promise<Packet>, what: string): Promise<Packet> {
  const r = await p;
  if (r.kind !== PacketKind.RESPONSE) fail(`${name}: ${what} failed: ${r.code} ${r.message}`);
  return r;
}

const conns: Conn[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(100, count) }, async () => {
    while (next < count) {
      const i = next++;
      const c = new Conn(await openSocket("127.0.0.1", port));
      conns.push(c);
      const creds = { username: `${prefix}${i}`, password: PASSWORD };
      await expectOk(c.call("login.Register", enc.register.encode(creds)), "login.Register");
      const li = await expectOk(c.call("login.Login", enc.login.encode(creds)), "login.Login");
      c.uid = enc.loginReply.decode(li.body).uid;
      await expectOk(c.call("team.Create", enc.create.encode({ name: `team ${prefix}${i}`, capacity: 0, open: false })), "team.Create");
    }
  }),
);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Open-loop load: `rate` per connection, the due sends spread evenly over the connections. */
async function load(run: DriverRun): Promise<DriverResult> {
  hist.reset();
  sent = ok = skipped = pushes = inWindowOutstanding = 0;
  for (const k of Object.keys(errors)) delete errors[k];
  const perMs = (run.rate * conns.length) / 1000;
  const t0 = performance.now();
  const measureAt = t0 + run.warmupMs;
  const endAt = measureAt + run.measureMs;
  let issued = 0;
  let pointer = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      measuring = now >= measureAt && now < endAt;
      const due = Math.floor((Math.min(now, endAt) - t0) * perMs);
      while (issued < due) {
        conns[pointer]!.send(now);
        pointer = pointer + 1 === conns.length ? 0 : pointer + 1;
        issued++;
      }
      if (now >= endAt) {
        measuring = false;
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  // Replies to requests sent in the window still count; then the backlog drains, so the next
  // window starts on an idle cluster (bounded: the gateway answers TIMEOUT after its request timeout).
  const deadline = performance.now() + 20_000;
  while (outstandingAll > 0 && performance.now() < deadline) await sleep(20);
  return { connections: conns.length, sent, ok, errors: { ...errors }, skipped, unanswered: inWindowOutstanding, pushes, hist: hist.toSparse() };
}

const nc = await connect({ servers: natsUrl!, noAsyncTraces: true });
nc.subscribe(driverSubject(name!), {
  callback: (_err, msg: Msg) => {
    const req = JSON.parse(new TextDecoder().decode(msg.data)) as DriverRun | DriverUids;
    if (req.kind === "uids") {
      msg.respond(new TextEncoder().encode(JSON.stringify(conns.map((c) => c.uid))));
      return;
    }
    void load(req).then((res) => msg.respond(new TextEncoder().encode(JSON.stringify(res))));
  },
});
await nc.flush();
process.stdout.write(`ready ${conns.length}\n`);
process.once("SIGTERM", () => process.exit(0));
setInterval(() => undefined, 60_000);
