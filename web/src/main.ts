import { connect, isErrorCode, type Client } from "switchyard/client/browser";
import { setupAuth } from "./auth.js";
import { setupBoard } from "./board.js";
import { loadConfig } from "./config.js";
import { byId, run, showStatus } from "./dom.js";
import { setupLobby } from "./lobby.js";
import { setupRank } from "./rank-panel.js";
import { setupTeam } from "./team-panel.js";

/** The winner's point reaches rank a moment after "over" (a module-to-module call): look twice. */
const RANK_RECHECK_MS = 500;
/** Right after `npm start` the gate may not know a ready gateway yet (it refreshes every 2 s). */
const CONNECT_ATTEMPTS = 10;
const CONNECT_RETRY_MS = 1_000;

async function connectWithRetry(): Promise<Client> {
  const config = await loadConfig();
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(config);
    } catch (err) {
      if (!isErrorCode(err, "UNAVAILABLE") || attempt >= CONNECT_ATTEMPTS) throw err;
      byId("connection").textContent = `waiting for a gateway (attempt ${attempt} of ${CONNECT_ATTEMPTS})…`;
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}

void run("connect", async () => {
  const client = await connectWithRetry();
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
