import { describe, expect, it } from "vitest";
import type { scene } from "../../../src/generated/proto.js";
import { playerEntry, positionsBody, sceneIdField } from "../../../modules/scene/positions-codec.js";
import { loadProto } from "../../../src/proto/registry.js";

const registry = loadProto();
const positions = registry.push("scene.Positions")!;

describe("positions codec (Positions bodies from pre-encoded parts)", () => {
  it("decodes with the generated codec to exactly the states encoded, float32-rounded", () => {
    const states: scene.PlayerState[] = [
      { uid: "u1", x: 0, y: 0, dir: 0, seq: 0 },
      { uid: "ü-ñ-名前", x: -12.25, y: 999.5, dir: Math.PI, seq: 2 ** 32 - 1 },
      { uid: "x".repeat(200), x: 1e-3, y: 123456.789, dir: -1, seq: 300 },
    ];
    const body = positionsBody(sceneIdField("bench-aoi"), states.map(playerEntry));
    const f = (v: number) => Math.fround(v);
    expect(positions.decode(body)).toEqual({ sceneId: "bench-aoi", players: states.map((s) => ({ ...s, x: f(s.x), y: f(s.y), dir: f(s.dir) })) });
    // protobufjs encodes the same message to bytes that decode identically
    expect(positions.decode(positions.encode({ sceneId: "bench-aoi", players: states }))).toEqual(positions.decode(body));
  });

  it("a body without players is just the scene id", () => {
    expect(positions.decode(positionsBody(sceneIdField("s"), []))).toEqual({ sceneId: "s", players: [] });
  });
});
