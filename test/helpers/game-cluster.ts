import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import gameModule from "../../modules/game/index.js";
import loginModule from "../../modules/login/index.js";
import rankModule from "../../modules/rank/index.js";
import teamModule from "../../modules/team/index.js";
import type { TestClusterSpec } from "./cluster.js";

/** The game stack of the default config (login, team, game, rank; 2 instances each) for a test cluster. */
export function gameStackSpec(gateways = 1): TestClusterSpec {
  return {
    gateways,
    modules: [loginModule, teamModule, gameModule, rankModule].map((def) => ({ def, instances: 2 })),
    config: {
      gateway: { ...DEFAULT_CONFIG.gateway },
      modules: {
        login: { instances: 2, settings: { scryptN: 1024 } },
        team: { instances: 2 },
        game: { instances: 2, settings: { modes: { tictactoe: 2 } } },
        rank: { instances: 2, settings: { boards: { tictactoe: "accumulate" } } },
      },
    },
  };
}
