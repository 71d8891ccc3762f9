import type { Client, game } from "switchyard/client/browser";
import { byId, every, run } from "./dom.js";

export const MODE = "tictactoe";

/** The rooms of the mode with their live member counts (polled every second), and QuickJoin. */
export function setupLobby(client: Client, onRoom: (room: game.RoomState) => void): void {
  const rows = byId("rooms");
  const render = (rooms: readonly game.RoomSummary[]): void => {
    rows.replaceChildren(
      ...rooms.map((r) => {
        const tr = document.createElement("tr");
        for (const text of [r.roomId, `${r.members}/${r.capacity}`, r.status]) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
  };
  const stop = every(1_000, async () => render((await client.request("game.ListRooms", { mode: MODE })).rooms));
  client.onClose(stop);

  byId("quick-join").addEventListener("click", () =>
    void run("quick join", async () => {
      const reply = await client.request("game.QuickJoin", { mode: MODE });
      if (reply.room !== null) onRoom(reply.room);
    }),
  );
}
