import { describe, expect, it } from "vitest";
import type { Pushes } from "../../../src/generated/proto.js";
import type { InstanceTimer, SessionRef } from "../../../src/module/index.js";
import { SceneWorld, type SceneHost } from "../../../modules/scene/scene-world.js";
import { SceneSettingsSchema } from "../../../modules/scene/settings.js";
import { loadProto } from "../../../src/proto/registry.js";

interface Sent {
  to: string[];
  route: keyof Pushes;
  msg: unknown;
}

const registry = loadProto();

/** A host that records pushes (by uid; encoded ones decoded with the generated codec) and runs `after` timers on demand. */
function recordingHost(): SceneHost & { sent: Sent[]; timers: (() => unknown)[] } {
  const sent: Sent[] = [];
  const timers: (() => unknown)[] = [];
  const to = (targets: SessionRef | readonly SessionRef[]) => (Array.isArray(targets) ? targets : [targets]).map((s: SessionRef) => s.uid!);
  return {
    sent,
    timers,
    push(targets, route, msg) {
      sent.push({ to: to(targets), route, msg });
    },
    pushEncoded(targets, route, body) {
      sent.push({ to: to(targets), route, msg: registry.push(route)!.decode(body) });
    },
    after(_ms: number, fn: () => unknown): InstanceTimer {
      timers.push(fn);
      return { cancel: () => timers.splice(timers.indexOf(fn), 1) };
    },
  };
}

const session = (uid: string, sid: number): SessionRef => ({ gatewayId: "gw-1", sid, uid });
const settings = SceneSettingsSchema.parse({ bounds: { minX: 0, minY: 0, maxX: 100, maxY: 100 }, cellSize: 10, maxSpeed: 100, speedToleranceMs: 0 });
const pushesTo = (host: { sent: Sent[] }, uid: string, route: keyof Pushes) => host.sent.filter((s) => s.route === route && s.to.includes(uid));

describe("SceneWorld (one scene on its owner)", () => {
  it("a tick sends each recipient one Positions push carrying the latest state of every mover it sees", () => {
    const host = recordingHost();
    const w = new SceneWorld("s", host, settings);
    w.enter("a", session("a", 1), 15, 15);
    w.enter("b", session("b", 2), 16, 16);
    w.enter("c", session("c", 3), 17, 17);
    w.enter("far", session("far", 4), 95, 95);
    host.sent.length = 0;
    let t = Date.now() + 1_000;
    for (let i = 1; i <= 5; i++) w.move("a", session("a", 1), { x: 15 + i * 0.1, y: 15, dir: i, seq: i }, (t += 10));
    w.move("b", session("b", 2), { x: 16, y: 16.5, dir: 0, seq: 1 }, t);
    expect(host.sent).toEqual([]); // nothing before the tick
    expect(w.flush()).toBe(3);
    const toC = pushesTo(host, "c", "scene.Positions");
    expect(toC).toHaveLength(1);
    expect(toC[0]!.msg).toEqual({ sceneId: "s", players: [{ uid: "a", x: 15.5, y: 15, dir: 5, seq: 5 }, { uid: "b", x: 16, y: 16.5, dir: 0, seq: 1 }] });
    expect(pushesTo(host, "a", "scene.Positions")[0]!.msg).toEqual({ sceneId: "s", players: [{ uid: "b", x: 16, y: 16.5, dir: 0, seq: 1 }] });
    expect(pushesTo(host, "far", "scene.Positions")).toEqual([]);
    expect(w.flush()).toBe(0); // nobody moved since
  });

  it("a move too far for maxSpeed, or out of bounds, is answered with a Correction and not applied", () => {
    const host = recordingHost();
    const w = new SceneWorld("s", host, settings);
    w.enter("a", session("a", 1), 50, 50);
    w.enter("b", session("b", 2), 51, 51);
    host.sent.length = 0;
    const t = Date.now() + 100; // 100 ms at 100 units/s: 10 units allowed
    w.move("a", session("a", 1), { x: 61, y: 50, dir: 0, seq: 1 }, t);
    w.move("a", session("a", 1), { x: 50, y: 101, dir: 0, seq: 2 }, t);
    expect(host.sent).toEqual([
      { to: ["a"], route: "scene.Correction", msg: { sceneId: "s", self: { uid: "a", x: 50, y: 50, dir: 0, seq: 0 }, reason: "too fast" } },
      { to: ["a"], route: "scene.Correction", msg: { sceneId: "s", self: { uid: "a", x: 50, y: 50, dir: 0, seq: 0 }, reason: "out of bounds" } },
    ]);
    expect(w.flush()).toBe(0);
    w.move("a", session("a", 1), { x: 59, y: 50, dir: 0, seq: 3 }, t);
    expect(w.flush()).toBe(1);
  });

  it("a disconnected player stays visible and frozen until its window runs out; entering again rebinds it", () => {
    const host = recordingHost();
    const w = new SceneWorld("s", host, settings);
    w.enter("a", session("a", 1), 50, 50);
    w.enter("b", session("b", 2), 51, 51);
    expect(w.disconnect("a", session("a", 9), 1_000, () => undefined)).toBe(false); // an older session
    let expired = 0;
    expect(w.disconnect("a", session("a", 1), 1_000, () => expired++)).toBe(true);
    expect(w.isDisconnected("a")).toBe(true);
    const again = w.enter("a", session("a", 5), 0, 0);
    expect(again.rebound).toBe(true);
    expect(again.self).toMatchObject({ x: 50, y: 50 });
    expect(host.timers).toEqual([]); // the window was cancelled
    expect(expired).toBe(0);
  });

  it("a Move or Chat from a connection the scene was told is closed rebinds the player: its moves reach the neighbours again and it is sent who it sees", () => {
    for (const via of ["move", "chat"] as const) {
      const host = recordingHost();
      const w = new SceneWorld("s", host, settings);
      w.enter("a", session("a", 1), 50, 50);
      w.enter("b", session("b", 2), 51, 51);
      let expired = 0;
      expect(w.disconnect("a", session("a", 1), 1_000, () => expired++)).toBe(true);
      host.sent.length = 0;
      const t = Date.now() + 100;
      if (via === "move") w.move("a", session("a", 1), { x: 52, y: 50, dir: 1, seq: 7 }, t);
      else w.chat("a", session("a", 1), "still here");
      expect(w.isDisconnected("a")).toBe(false);
      expect(w.sessionOf("a")).toEqual(session("a", 1));
      expect(host.timers).toEqual([]); // the window was cancelled: it never disappears for b
      expect(pushesTo(host, "a", "scene.Appear").map((s) => s.msg)).toEqual([{ sceneId: "s", players: [{ uid: "b", x: 51, y: 51, dir: 0, seq: 0 }] }]);
      if (via === "chat") w.move("a", session("a", 1), { x: 52, y: 50, dir: 1, seq: 7 }, t);
      expect(w.flush()).toBe(1);
      expect(pushesTo(host, "b", "scene.Positions").map((s) => s.msg)).toEqual([{ sceneId: "s", players: [{ uid: "a", x: 52, y: 50, dir: 1, seq: 7 }] }]);
      w.move("b", session("b", 2), { x: 51, y: 52, dir: 0, seq: 1 }, t);
      w.flush();
      expect(pushesTo(host, "a", "scene.Positions")).toHaveLength(1); // it receives again
      // Another live connection of the same uid is still refused.
      expect(() => w.move("a", session("a", 3), { x: 52, y: 50, dir: 0, seq: 8 }, t)).toThrow("not the one in scene s");
      expect(expired).toBe(0);
    }
  });
});
