import { describe, expect, it } from "vitest";
import { Heartbeat } from "../../../src/client/heartbeat.js";

function target(): { beats: number; dead: number[]; sendHeartbeat(): void; onDead(ms: number): void } {
  const t = {
    beats: 0,
    dead: [] as number[],
    sendHeartbeat: () => void t.beats++,
    onDead: (ms: number) => void t.dead.push(ms),
  };
  return t;
}

describe("Heartbeat", () => {
  it("beats every interval while traffic arrives", () => {
    const t = target();
    const hb = new Heartbeat(100, t);
    for (let i = 0; i < 10; i++) {
      hb.traffic();
      hb.tick();
    }
    expect(t.beats).toBe(10);
    expect(t.dead).toEqual([]);
  });

  it("gives up after 3 intervals without traffic", () => {
    const t = target();
    const hb = new Heartbeat(100, t);
    hb.tick(); // the interval right after start counts as seen
    hb.tick();
    hb.tick();
    expect(t.dead).toEqual([]);
    hb.tick();
    expect(t.dead).toEqual([300]);
  });

  it("traffic resets the count", () => {
    const t = target();
    const hb = new Heartbeat(100, t);
    hb.tick();
    hb.tick();
    hb.tick();
    hb.traffic();
    hb.tick();
    hb.tick();
    hb.tick();
    expect(t.dead).toEqual([]);
  });

  it("does not start a timer when the interval is 0", () => {
    const hb = new Heartbeat(0, target());
    hb.start();
    expect((hb as unknown as { timer: unknown }).timer).toBeNull();
  });
});
