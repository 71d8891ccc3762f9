import { describe, expect, it } from "vitest";
import { Events, type NatsConnection, type Status } from "nats";
import { ErrorCode } from "../../../src/bus/errors.js";
import { ReplyMux } from "../../../src/bus/reply-mux.js";

function fakeNats() {
  const published: { subject: string; reply: string }[] = [];
  const statuses: Status[] = [];
  let wake: (() => void) | null = null;
  const nc = {
    subscribe: () => ({ unsubscribe: () => undefined }),
    publish: (subject: string, _data: Uint8Array, opts?: { reply?: string }) => published.push({ subject, reply: opts?.reply ?? "" }),
    isClosed: () => false,
    flush: () => Promise.resolve(),
    status: async function* () {
      for (;;) {
        while (statuses.length > 0) yield statuses.shift()!;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
  /** Emits a connection status event, as nats.js does on a disconnect or a reconnect. */
  const emit = async (type: Events, data: string): Promise<void> => {
    statuses.push({ type, data });
    wake?.();
    for (let i = 0; i < 5; i++) await tick();
  };
  return { nc: nc as unknown as NatsConnection, published, emit };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("ReplyMux batch mode", () => {
  it("publishes requests and notifies of one turn together, in order, after the turn", async () => {
    const { nc, published } = fakeNats();
    const mux = new ReplyMux(nc, "gw-t", { batch: true });
    const a = mux.send("svc.m.A", new Uint8Array(1), undefined, 1_000, null, () => undefined);
    mux.publish("svc.m.N", new Uint8Array(1));
    const b = mux.send("svc.m.B", new Uint8Array(1), undefined, 1_000, null, () => undefined);
    expect(published).toEqual([]);
    await tick();
    expect(published).toEqual([
      { subject: "svc.m.A", reply: `_SY.gw-t.${a}` },
      { subject: "svc.m.N", reply: "" },
      { subject: "svc.m.B", reply: `_SY.gw-t.${b}` },
    ]);
    mux.close();
  });

  it("close() drops what is queued and fails the requests once", async () => {
    const { nc, published } = fakeNats();
    const mux = new ReplyMux(nc, "gw-t", { batch: true });
    const codes: number[] = [];
    mux.send("svc.m.A", new Uint8Array(1), undefined, 1_000, null, (_c, code) => codes.push(code));
    mux.close();
    await tick();
    expect(published).toEqual([]);
    expect(codes.length).toBe(1);
  });

  it("without batch, publishes at once", () => {
    const { nc, published } = fakeNats();
    const mux = new ReplyMux(nc, "gw-t");
    mux.send("svc.m.A", new Uint8Array(1), undefined, 1_000, null, () => undefined);
    expect(published.length).toBe(1);
    mux.close();
  });

  it("a lost connection fails the requests sent through it at once, refuses new ones unsent until the reconnect", async () => {
    const { nc, published, emit } = fakeNats();
    const mux = new ReplyMux(nc, "gw-t");
    const outcomes: [number, string][] = [];
    const record = (_c: null, code: number, message: string): number => outcomes.push([code, message]);
    mux.send("svc.m.A", new Uint8Array(1), undefined, 60_000, null, record);
    await emit(Events.Disconnect, "127.0.0.1:4222");
    expect(outcomes).toEqual([[ErrorCode.UNAVAILABLE, expect.stringMatching(/^the connection to NATS 127\.0\.0\.1:4222 was lost while waiting for the answer/)]]);
    mux.send("svc.m.B", new Uint8Array(1), undefined, 60_000, null, record);
    expect(outcomes[1]).toEqual([ErrorCode.UNAVAILABLE, expect.stringMatching(/^not sent: reconnecting to NATS/)]);
    expect(published.map((p) => p.subject)).toEqual(["svc.m.A"]);
    await emit(Events.Reconnect, "127.0.0.1:4223");
    mux.send("svc.m.C", new Uint8Array(1), undefined, 60_000, null, record);
    expect(published.map((p) => p.subject)).toEqual(["svc.m.A", "svc.m.C"]);
    expect(outcomes).toHaveLength(2);
    expect(mux.pending).toBe(1);
    mux.close();
  });
});
