// Client process of the idle-connections scenario: opens up to N TCP connections to a port (or
// WebSockets to ws://127.0.0.1:<port><path> when a path is given) and holds them without sending
// anything. Prints "ready <opened>" (stops early at its own fd limit or when connections fail),
// then waits for SIGTERM.
import { connect, type Socket } from "node:net";
import { WebSocket } from "ws";

const [portText, countText, wsPath] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const sockets: (Socket | WebSocket)[] = [];
let failed = 0;

function openWs(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
    ws.once("open", () => {
      ws.on("error", () => undefined);
      sockets.push(ws);
      resolve(true);
    });
    ws.once("error", () => {
      failed++;
      resolve(false);
    });
  });
}

function open(): Promise<boolean> {
  if (wsPath !== undefined) return openWs(wsPath);
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.on("error", () => undefined);
      sockets.push(s);
      resolve(true);
    });
    s.once("error", () => {
      failed++;
      resolve(false);
    });
  });
}

const PARALLEL = 100;
let next = 0;
let stop = false;
await Promise.all(
  Array.from({ length: PARALLEL }, async () => {
    while (!stop && next < count) {
      next++;
      if (!(await open()) && failed > 50) stop = true;
    }
  }),
);
process.stdout.write(`ready ${sockets.length} failed ${failed}\n`);
process.once("SIGTERM", () => process.exit(0));
setInterval(() => undefined, 60_000);
