// Baseline process: a raw NATS responder (callback subscription, msg.respond with the request
// body), the module side of the raw `nc.request()` baseline. Prints "ready" once subscribed.
import { connect } from "nats";

const [url, subject = "bench.echo"] = process.argv.slice(2);
const nc = await connect({ servers: url!, noAsyncTraces: true });
nc.subscribe(subject, { queue: "bench", callback: (_err, msg) => msg.respond(msg.data) });
await nc.flush();
process.stdout.write("ready\n");
process.once("SIGTERM", () => void nc.drain().finally(() => process.exit(0)));
