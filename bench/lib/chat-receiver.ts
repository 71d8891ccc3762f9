// Receiver process of the chat scenario: COUNT SDK clients on a gateway, each registered, logged
// in and joined to ROOM with chat.Join (as a game client would). Prints "t <k> <ms>" each time
// every one of its members has received the k-th chat.RoomMessage (epochMs(): comparable across
// processes), "ready <count>" once all members are in the room.
//   node chat-receiver.js PORT COUNT ROOM PREFIX
import { connect, type Client } from "../../src/client/index.js";
import { epochMs } from "./receivers.js";

const [portText, countText, room, prefix] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const PARALLEL = 25;

let got = 0;
let next = count;
let k = 0;
function arrived(): void {
  got++;
  while (got >= next) {
    k++;
    next += count;
    process.stdout.write(`t ${k} ${epochMs()}\n`);
  }
}

const clients: Client[] = [];
let started = 0;
async function worker(): Promise<void> {
  while (started < count) {
    const i = started++;
    const c = await connect({ host: "127.0.0.1", port, heartbeatMs: 0 });
    const username = `${prefix}${i}`;
    await c.request("login.Register", { username, password: "password-1" });
    await c.request("login.Login", { username, password: "password-1" });
    await c.request("chat.Join", { room: room! });
    c.on("chat.RoomMessage", arrived);
    clients.push(c);
  }
}
await Promise.all(Array.from({ length: PARALLEL }, worker));
process.stdout.write(`ready ${count}\n`);
process.once("SIGTERM", () => process.exit(0));
setInterval(() => undefined, 60_000);
