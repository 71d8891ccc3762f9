// Team chat from a terminal with the Node SDK, over WebSocket or TCP (README "TypeScript client SDK").
//   node examples/team-chat.mjs alice ws://127.0.0.1:3251/ws            creates an open team, prints its id
//   node examples/team-chat.mjs bob 127.0.0.1:3250 <team id>            joins that team over TCP
// Each line typed is sent to the team; messages of the others are printed. Ctrl-D leaves.
import { createInterface } from "node:readline";
import { connect, isErrorCode } from "../dist/src/client/index.js";

const [username, where, teamId] = process.argv.slice(2);
if (!username || !where) {
  console.error("usage: node examples/team-chat.mjs USERNAME ws://HOST:WSPORT/ws|HOST:PORT [TEAM_ID]");
  process.exit(2);
}
const [host, port] = where.split(":");
const client = await connect(where.startsWith("ws") ? { url: where } : { host, port: Number(port) });
const password = `${username}-password`;
try {
  await client.request("login.Register", { username, password });
} catch (err) {
  if (!isErrorCode(err, "CONFLICT")) throw err; // registered by an earlier run
}
const { uid } = await client.request("login.Login", { username, password });
const team = teamId ? await client.request("team.Join", { teamId }) : await client.request("team.Create", { name: `${username}-team`, open: true });
console.log(`${username} (${uid}) over ${client.address}: team ${team.teamId} (${team.members.map((m) => m.username).join(", ")})`);
client.on("team.ChatMessage", (m) => {
  if (m.fromUid !== uid) console.log(`${m.fromUsername}: ${m.text}`);
});
client.on("team.Event", (e) => console.log(`[team event ${e.kind}: ${e.uid}, ${e.members} members]`));
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== "") await client.request("team.Chat", { text: line });
}
await client.request("team.Leave", {});
await client.close();
