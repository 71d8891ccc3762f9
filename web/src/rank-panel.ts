import type { Client } from "switchyard/client/browser";
import { byId, renderList, run } from "./dom.js";

export const BOARD = "tictactoe";

/** rank.Top of the tictactoe board; returns a refresher (called at each game over). */
export function setupRank(client: Client): () => void {
  const list = byId("rank-top");
  const refresh = (): void =>
    void run("rank", async () => {
      const top = await client.request("rank.Top", { board: BOARD, n: 10 });
      renderList(list, "li", top.entries.map((e) => `${e.username || e.uid} — ${e.score}`));
    });
  byId("rank-refresh").addEventListener("click", refresh);
  refresh();
  return refresh;
}
