// Load that a gateway move must not disturb (test/integration/gateway-rollout.test.ts and
// bench/gateway-rollout.ts): logged-in SDK players each keep echo.Echo requests going and are
// members of one chat room; a talker says numbered lines in that room (channel pushes) and a
// teller sends each player numbered private messages (point pushes). Every outcome is counted,
// so the caller can state exactly: requests failed, pushes missing, pushes duplicated.
import { performance } from "node:perf_hooks";
import type { Client } from "../../src/client/index.js";
import type { chat } from "../../src/generated/proto.js";
import { SwitchyardError } from "../../src/protocol/errors.js";
import { Histogram } from "./load.js";

/** A logged-in client of the load and its uid. */
export interface LoadUser {
  client: Client;
  uid: string;
}

/** What to run. */
export interface MoveLoadSpec {
  players: LoadUser[];
  talker: LoadUser;
  teller: LoadUser;
  room: string;
  /** echo.Echo requests each player keeps outstanding. */
  requestsPerPlayer: number;
  /** Pause between two chat lines of the talker and of the teller (ms); default 2. */
  pushGapMs?: number;
  /**
   * Sends numbered room lines as NOTIFYs (chat.Say without a reply), one every 25 ms (a NOTIFY
   * holds an in-flight slot like a request: faster ones would hit maxInFlightPerSession): a
   * NOTIFY lost or sent twice during a move shows as a room push missing or duplicated. An
   * ERROR the notifier gets (a refused NOTIFY) counts as a failure.
   */
  notifier?: LoadUser;
}

/** The phase a request started in (p99 per phase). */
export type MovePhase = "before" | "during" | "after";

/** One failure, as the user code saw it. */
export interface LoadFailure {
  route: string;
  code: string;
  message: string;
}

/** Per player: what it should have received and what it did. */
export interface PlayerPushes {
  uid: string;
  roomExpected: number;
  roomMissing: number;
  roomDuplicated: number;
  roomInOrder: boolean;
  tellExpected: number;
  tellMissing: number;
  tellDuplicated: number;
  tellInOrder: boolean;
  notifyExpected: number;
  notifyMissing: number;
  notifyDuplicated: number;
  notifyInOrder: boolean;
  /** Reconnects seen (moves included). */
  reconnects: number;
  resyncs: number;
}

/** Everything counted once the load stopped and the pushes settled. */
export interface MoveOutcome {
  requests: number;
  failures: LoadFailure[];
  pushesSent: number;
  players: PlayerPushes[];
  p99: Record<MovePhase, number>;
}

/** A running load. */
export interface MoveLoad {
  setPhase(p: MovePhase): void;
  /** Requests answered so far. */
  readonly answered: number;
  /** Stops, waits up to `settleMs` for the pushes in flight, and counts. */
  stop(settleMs?: number): Promise<MoveOutcome>;
}

function failureOf(route: string, err: unknown): LoadFailure {
  return { route, code: err instanceof SwitchyardError ? err.code : "THROWN", message: (err as Error).message };
}

/** Missing, duplicated and order of `got` against `want` (each item unique in `want`). */
function compare(want: readonly string[], got: readonly string[]): { missing: number; duplicated: number; inOrder: boolean } {
  const seen = new Set(got);
  const missing = want.filter((w) => !seen.has(w)).length;
  const duplicated = got.length - seen.size;
  const inOrder = missing === 0 && duplicated === 0 && want.every((w, i) => got[i] === w);
  return { missing, duplicated, inOrder };
}

/** Joins everyone to the room and starts the load. */
export async function startMoveLoad(spec: MoveLoadSpec): Promise<MoveLoad> {
  const gap = spec.pushGapMs ?? 2;
  await Promise.all([...spec.players, spec.talker, ...(spec.notifier ? [spec.notifier] : [])].map((u) => u.client.request("chat.Join", { room: spec.room })));
  const received = spec.players.map((p) => {
    const room: string[] = [];
    const tells: string[] = [];
    const counts = { reconnects: 0, resyncs: 0 };
    p.client.on<chat.RoomMessage>("chat.RoomMessage", (m) => room.push(m.text));
    p.client.on<chat.PrivateMessage>("chat.PrivateMessage", (m) => tells.push(m.text));
    p.client.onReconnect((info) => {
      counts.reconnects++;
      if (info.resync) counts.resyncs++;
    });
    p.client.onError((err) => {
      if (err.code === "RESYNC") counts.resyncs++;
    });
    return { room, tells, counts };
  });
  const hist: Record<MovePhase, Histogram> = { before: new Histogram(), during: new Histogram(), after: new Histogram() };
  let phase: MovePhase = "before";
  let running = true;
  let requests = 0;
  let answered = 0;
  const failures: LoadFailure[] = [];
  const said: string[] = [];
  const told: string[][] = spec.players.map(() => []);
  const notified: string[] = [];

  const echoLoops = spec.players.flatMap((p, pi) =>
    Array.from({ length: spec.requestsPerPlayer }, async (_, w) => {
      for (let i = 0; running; i++) {
        const ph = phase;
        const t = performance.now();
        requests++;
        try {
          const r = await p.client.request("echo.Echo", { text: `p${pi}w${w}-${i}` });
          if (r.text !== `p${pi}w${w}-${i}`) failures.push({ route: "echo.Echo", code: "WRONG_REPLY", message: `got ${r.text}` });
          answered++;
          hist[ph].record(performance.now() - t);
        } catch (err) {
          failures.push(failureOf("echo.Echo", err));
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }),
  );
  const talk = (async () => {
    for (let i = 1; running; i++) {
      const text = `r${i}`;
      requests++;
      try {
        await spec.talker.client.request("chat.Say", { room: spec.room, text });
        said.push(text);
        answered++;
      } catch (err) {
        failures.push(failureOf("chat.Say", err));
      }
      await new Promise((r) => setTimeout(r, gap));
    }
  })();
  const tell = (async () => {
    for (let i = 1; running; i++) {
      for (const [pi, p] of spec.players.entries()) {
        const text = `t${i}`;
        requests++;
        try {
          await spec.teller.client.request("chat.Tell", { toUid: p.uid, text });
          told[pi]!.push(text);
          answered++;
        } catch (err) {
          failures.push(failureOf("chat.Tell", err));
        }
      }
      await new Promise((r) => setTimeout(r, gap));
    }
  })();

  const notify = (async () => {
    const n = spec.notifier;
    n?.client.onError((err) => failures.push(failureOf("chat.Say (NOTIFY)", err)));
    for (let i = 1; running && n !== undefined; i++) {
      const text = `n${i}`;
      try {
        n.client.notify("chat.Say", { room: spec.room, text });
        notified.push(text);
      } catch (err) {
        failures.push(failureOf("chat.Say (NOTIFY)", err));
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();

  return {
    setPhase(p) {
      phase = p;
    },
    get answered() {
      return answered;
    },
    async stop(settleMs = 5_000) {
      running = false;
      await Promise.all([...echoLoops, talk, tell, notify]);
      const deadline = Date.now() + settleMs;
      const settled = (): boolean => received.every((r, i) => r.room.length >= said.length + notified.length && r.tells.length >= told[i]!.length);
      while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // a little longer: a duplicate would arrive after the expected count was reached
      await new Promise((r) => setTimeout(r, 200));
      const players = spec.players.map((p, i): PlayerPushes => {
        const room = compare(said, received[i]!.room.filter((t) => t.startsWith("r")));
        const notes = compare(notified, received[i]!.room.filter((t) => t.startsWith("n")));
        const tells = compare(told[i]!, received[i]!.tells);
        return {
          uid: p.uid,
          roomExpected: said.length,
          roomMissing: room.missing,
          roomDuplicated: room.duplicated,
          roomInOrder: room.inOrder,
          tellExpected: told[i]!.length,
          tellMissing: tells.missing,
          tellDuplicated: tells.duplicated,
          tellInOrder: tells.inOrder,
          notifyExpected: notified.length,
          notifyMissing: notes.missing,
          notifyDuplicated: notes.duplicated,
          notifyInOrder: notes.inOrder,
          reconnects: received[i]!.counts.reconnects,
          resyncs: received[i]!.counts.resyncs,
        };
      });
      const pushesSent = (said.length + notified.length) * spec.players.length + told.reduce((n, t) => n + t.length, 0);
      return { requests, failures, pushesSent, players, p99: { before: hist.before.percentile(0.99), during: hist.during.percentile(0.99), after: hist.after.percentile(0.99) } };
    },
  };
}
