// Baseline process: a raw Node TCP echo server. Every chunk goes back in one write, so the load
// generator's framed requests come back as its "replies" (one write per batch, no NATS, no
// protocol work). Prints "ready <port>" once it listens.
import { createServer } from "node:net";

const port = Number(process.argv[2] ?? 0);
const server = createServer({ noDelay: true }, (socket) => {
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("error", () => socket.destroy());
});
server.listen(port, "127.0.0.1", () => {
  const a = server.address();
  process.stdout.write(`ready ${typeof a === "object" && a ? a.port : port}\n`);
});
process.once("SIGTERM", () => process.exit(0));
