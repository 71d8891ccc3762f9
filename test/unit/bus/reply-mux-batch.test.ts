import { describe, expect, it } from "vitest";
import type { NatsConnection } from "nats";
import { ReplyMux } from "../../../src/bus/reply-mux.js";

function fakeNats() {
  const published: { subject: string; reply: string }[] = [];
  const nc = {
    subscribe: () => ({ unsubscribe: () => undefined }),
    publish: (subject: string, _data: Uint8Array, opts?: { reply?: string }) => published.push({ subject, reply: opts?.reply ?? "" }),
    isClosed: () => false,
  };
  return { nc: nc as unknown as NatsConnection, published };
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
});
