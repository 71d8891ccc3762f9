import { connect } from "switchyard/client/browser";
import { setupAuth } from "./auth.js";
import { setupBoard } from "./board.js";
import { loadConfig } from "./config.js";
import { byId, run, showStatus } from "./dom.js";
import { setupLobby } from "./lobby.js";
import { setupRank } from "./rank-panel.js";
import { setupTeam } from "./team-panel.js";

/** The winner's point reaches rank a moment after "over" (a module-to-module call): look twice. */
const RANK_RECHECK_MS = 500;

void run("connect", async () => {
  const client = await connect(await loadConfig());
  const connection = byId("connection");
  connection.textContent = `connected to ${client.address}`;
  client.onKick((code, message) => showStatus(`kicked: ${code}: ${message}`));
  client.onClose((reason) => {
    connection.textContent = `disconnected: ${reason}`;
  });
  setupAuth(client, (player) => {
    byId("app").hidden = false;
    const refreshRank = setupRank(client);
    const showRoom = setupBoard(client, player, () => {
      refreshRank();
      setTimeout(refreshRank, RANK_RECHECK_MS);
    });
    setupLobby(client, showRoom);
    setupTeam(client, player);
  });
});
