// Baseline process for broadcast: one Node process holding every member connection and writing
// the same pre-encoded PUSH frame to all of them (what a single gateway with all members would
// do at best, no NATS). Each byte received from any connection triggers one broadcast; the
// broadcasts of one chunk go to each socket in one write (as the gateway batches per tick).
import { createServer, type Socket } from "node:net";
import { FANOUT_FRAME as frame } from "./fanout-baseline.js";

const port = Number(process.argv[2] ?? 0);
const sockets = new Set<Socket>();
const server = createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.on("data", (chunk: Buffer) => {
    const out = chunk.length === 1 ? frame : Buffer.concat(Array.from({ length: chunk.length }, () => frame));
    for (const s of sockets) s.write(out);
  });
  socket.on("error", () => socket.destroy());
  socket.on("close", () => sockets.delete(socket));
});
server.maxConnections = 30_000;
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
process.once("SIGTERM", () => process.exit(0));
