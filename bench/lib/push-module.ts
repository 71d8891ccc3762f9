// The slow-clients scenario's push module (`switchyard module pusher --from dist/bench/lib/push-module.js`):
// pushes SLOW_PUSH_ROUTE to each uid of its current targets once per second, in PUSH_TICKS
// slices per second. A PushTargets request on PUSHER_SUBJECT replaces the targets (answered once
// applied). It uses the runtime's pushToUids (one online-table read and one command per gateway
// per slice) and, hosted by a build that has none (BENCH_BEFORE_ROOT), pushToUid per uid: what a
// module had to do before. Only types are imported, so any build's host can run this file.
import type { ModuleDefinition, ModuleRuntime } from "../../src/module/index.js";
import { PUSHER_SUBJECT, SLOW_PUSH_ROUTE, type PushTargets } from "./slow-plan.js";

/** Slices per second: each tick pushes to 1/PUSH_TICKS of the targets. */
const PUSH_TICKS = 10;

/** The runtime as seen from any build: pushToUids may be missing on an older one. */
interface AnyRuntime {
  pushToUids?: (uids: readonly string[], route: string, msg: object) => Promise<string[]>;
  pushToUid(uid: string, route: string, msg: object): Promise<boolean>;
}

const pusher: ModuleDefinition = {
  name: "pusher",
  version: "1.0.0",
  handlers: {},
  onStart(rt: ModuleRuntime): void {
    const runtime = rt as unknown as AnyRuntime;
    let slices: string[][] = [];
    let tick = 0;
    let n = 0;
    rt.nc.subscribe(PUSHER_SUBJECT, {
      callback: (_err, msg) => {
        const { uids } = JSON.parse(new TextDecoder().decode(msg.data)) as PushTargets;
        slices = Array.from({ length: PUSH_TICKS }, (_, k) => uids.filter((_u, i) => i % PUSH_TICKS === k));
        msg.respond(new TextEncoder().encode(JSON.stringify({ targets: uids.length, api: runtime.pushToUids ? "pushToUids" : "pushToUid" })));
      },
    });
    rt.every(1000 / PUSH_TICKS, async () => {
      const slice = slices[tick++ % PUSH_TICKS];
      if (slice === undefined || slice.length === 0) return;
      const msg = { teamId: "", fromUid: "", fromUsername: "pusher", text: `tick ${++n}`, sentAt: Date.now() };
      if (runtime.pushToUids) await runtime.pushToUids(slice, SLOW_PUSH_ROUTE, msg);
      else await Promise.all(slice.map((uid) => runtime.pushToUid(uid, SLOW_PUSH_ROUTE, msg)));
    });
  },
};

export default pusher;
