import type { Client, game } from "switchyard/client/browser";
import { byId, run } from "./dom.js";
import type { Player } from "./player.js";

/** What the status line says about a room, from this player's side. */
export function gameStatus(room: game.RoomState, me: Player): string {
  const mark = room.members.find((m) => m.uid === me.uid)?.seat === 0 ? "X" : "O";
  if (room.phase === "waiting") return `waiting for an opponent in room ${room.roomId}`;
  if (room.phase === "playing") return room.turnUid === me.uid ? `your turn (${mark})` : `opponent's turn (you are ${mark})`;
  if (room.draw) return "game over: draw";
  return room.winnerUid === me.uid ? "game over: you won" : "game over: you lost";
}

/** The tic-tac-toe board of the room this player sits in, kept current by game.RoomEvent pushes. */
export function setupBoard(client: Client, me: Player, onOver: () => void): (room: game.RoomState) => void {
  const board = byId("board");
  const status = byId("game-status");
  const cells = Array.from({ length: 9 }, (_, cell) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.cell = String(cell);
    b.disabled = true;
    b.addEventListener("click", () =>
      void run("move", async () => {
        const reply = await client.request("game.Move", { cell });
        if (reply.room !== null) show(reply.room);
      }),
    );
    return b;
  });
  board.replaceChildren(...cells);

  let roomId = "";
  const show = (room: game.RoomState): void => {
    roomId = room.roomId;
    status.textContent = gameStatus(room, me);
    const myTurn = room.phase === "playing" && room.turnUid === me.uid;
    cells.forEach((b, i) => {
      const mark = room.board.charAt(i);
      b.textContent = mark === "." ? "" : mark;
      b.disabled = !myTurn || mark !== ".";
    });
  };
  client.on<game.RoomEvent>("game.RoomEvent", (ev) => {
    if (ev.room === null || (roomId !== "" && ev.room.roomId !== roomId)) return;
    show(ev.room);
    if (ev.kind === "over") onOver();
  });
  return show;
}
