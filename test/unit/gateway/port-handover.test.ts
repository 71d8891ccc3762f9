import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "nats";
import { listenOnce, listenWhenFree, requestPortRelease, serveReleasePorts } from "../../../src/gateway/port-handover.js";
import { freePort, startNats, type RunningServer } from "../../helpers/servers.js";

const servers: Server[] = [];
function server(): Server {
  const s = createServer((sock) => sock.end("new"));
  servers.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
});

describe("port handover", () => {
  it("binds a taken port as soon as its holder closes it, retrying meanwhile", async () => {
    const port = await freePort();
    const old = server();
    await listenOnce(old, port, "127.0.0.1");
    const next = server();
    const bound = listenWhenFree(next, port, "127.0.0.1", 5_000, 5);
    await new Promise((r) => setTimeout(r, 60));
    expect(next.listening).toBe(false);
    old.close();
    const tries = await bound;
    expect(tries).toBeGreaterThan(1);
    expect(next.listening).toBe(true);
  });

  it("gives up after the timeout with a message naming the port", async () => {
    const port = await freePort();
    await listenOnce(server(), port, "127.0.0.1");
    await expect(listenWhenFree(server(), port, "127.0.0.1", 50, 5)).rejects.toThrow(`port 127.0.0.1:${port} still taken after 50 ms`);
  });

  it("does not retry other bind errors", async () => {
    // an address this host does not have (TEST-NET-1): EADDRNOTAVAIL at once, no retry for 5 s
    const began = Date.now();
    await expect(listenWhenFree(server(), await freePort(), "192.0.2.1", 5_000, 5)).rejects.toMatchObject({ code: "EADDRNOTAVAIL" });
    console.log(`refused after ${Date.now() - began} ms`);
  });

  describe("over NATS", () => {
    let nats: RunningServer;
    let nc: NatsConnection;
    afterEach(async () => {
      await nc?.close();
      await nats?.stop();
    });

    it("a release request closes the holder's listener before it is answered; a gone holder answers false", async () => {
      nats = await startNats();
      nc = await connect({ servers: nats.url });
      const port = await freePort();
      const old = server();
      await listenOnce(old, port, "127.0.0.1");
      serveReleasePorts(nc, "gw-old", () => old.close());
      const next = server();
      const bound = listenWhenFree(next, port, "127.0.0.1", 5_000, 5);
      expect(await requestPortRelease(nc, "gw-old")).toBe(true);
      expect(old.listening).toBe(false);
      await bound;
      expect(next.listening).toBe(true);
      expect(await requestPortRelease(nc, "gw-nobody")).toBe(false);
    });
  });
});
