import { describe, expect, it } from "vitest";
import gameModule from "../../../modules/game/index.js";
import { DEFAULT_GAME_SETTINGS, type GameSettings } from "../../../modules/game/settings.js";
import type { ClusterConfig } from "../../../src/config/cluster-config.js";
import { parseModuleSettings } from "../../../src/module/index.js";

/** The module's own schema over `settings`, as the host and the master apply it. */
function parseGameSettings(settings: unknown): GameSettings {
  const config = { modules: { game: { instances: 1, settings } } } as unknown as ClusterConfig;
  return parseModuleSettings(gameModule, config) as GameSettings;
}
import { Room } from "../../../modules/game/room.js";

describe("game settings", () => {
  it("defaults to tictactoe for 2 and a 30 s reconnect window", () => {
    const s = parseGameSettings({});
    expect(s.modes.get("tictactoe")).toEqual({ name: "tictactoe", capacity: 2, game: "tictactoe", moveTimeoutMs: 30_000 });
    expect(s.reconnectWindowMs).toBe(DEFAULT_GAME_SETTINGS.reconnectWindowMs);
  });

  it("takes capacities per mode and refuses bad values, naming the key", () => {
    const s = parseGameSettings({ modes: { tictactoe: 2, quad: 4, duel: { capacity: 2, game: "tictactoe" } }, reconnectWindowMs: 500 });
    expect(s.modes.get("quad")).toEqual({ name: "quad", capacity: 4, game: "none", moveTimeoutMs: 30_000 });
    expect(s.modes.get("duel")?.game).toBe("tictactoe");
    expect(s.reconnectWindowMs).toBe(500);
    expect(() => parseGameSettings({ modes: { quad: 0 } })).toThrow(/modes\.quad/);
    expect(() => parseGameSettings({ modes: { tictactoe: 3 } })).toThrow(/capacity 2/);
    expect(() => parseGameSettings({ modes: { "a.b": 2 } })).toThrow(/mode name is 1-32/);
    expect(() => parseGameSettings({ reconnectWindowMs: -1 })).toThrow(/reconnectWindowMs/);
  });

  it("takes a move timeout for every mode, overridden per mode", () => {
    const s = parseGameSettings({ modes: { tictactoe: 2, blitz: { capacity: 2, game: "tictactoe", moveTimeoutMs: 3_000 } }, moveTimeoutMs: 20_000 });
    expect(s.moveTimeoutMs).toBe(20_000);
    expect(s.modes.get("tictactoe")?.moveTimeoutMs).toBe(20_000);
    expect(s.modes.get("blitz")?.moveTimeoutMs).toBe(3_000);
    expect(() => parseGameSettings({ moveTimeoutMs: 0 })).toThrow(/moveTimeoutMs/);
    expect(() => parseGameSettings({ modes: { duel: { capacity: 2, moveTimeoutMs: "5s" } } })).toThrow(/modes\.duel\.moveTimeoutMs/);
  });
});

describe("room (in memory)", () => {
  const mode = { name: "tictactoe", capacity: 2, game: "tictactoe", moveTimeoutMs: 30_000 } as const;
  const s = (sid: number) => ({ gatewayId: "gw", sid, uid: null });

  it("starts the game when full; the lowest seat plays X; a reattach is a rejoin", () => {
    const room = new Room("r1", mode, "game-a");
    expect(room.attach("u1", 1, s(1)).rejoined).toBe(false);
    expect(room.startIfFull()).toBe(false);
    room.attach("u0", 0, s(2));
    expect(room.startIfFull()).toBe(true);
    expect(room.markOf("u0")).toBe("X");
    expect(room.markOf("u1")).toBe("O");
    const v = room.view();
    expect(v.members.map((m) => m.uid)).toEqual(["u0", "u1"]);
    expect(v.turnUid).toBe("u0");
    expect(v.phase).toBe("playing");
    room.members.get("u1")!.session = null;
    expect(room.view().members[1]!.connected).toBe(false);
    expect(room.attach("u1", 1, s(3)).rejoined).toBe(true);
    expect(room.view().members[1]!.connected).toBe(true);
  });
});
