// Client process of the idle-connections scenario: opens up to N TCP connections to a port and
// holds them without sending anything. Prints "ready <opened>" (stops early at its own fd limit
// or when connections fail), then waits for SIGTERM.
import { connect, type Socket } from "node:net";

const [portText, countText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const sockets: Socket[] = [];
let failed = 0;

function open(): Promise<boolean> {
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
