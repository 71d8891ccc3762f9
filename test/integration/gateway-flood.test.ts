import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/protocol/errors.js";
import type { Client } from "../../src/client/index.js";
import { DEFAULT_CONFIG } from "../../src/config/cluster-config.js";
import { PacketKind, encodeFrame } from "../../src/protocol/packet.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { RawClient } from "./gateway-raw-client.js";
import echoModule from "../../modules/echo/index.js";

describe("flood: one client far over its rate limit (real servers, default limits)", () => {
  let cluster: TestCluster;
  let polite: Client;

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [{ def: echoModule, instances: 1 }],
      config: { gateway: { ...DEFAULT_CONFIG.gateway, publicRoutes: ["echo.Echo"] } },
    });
    polite = await cluster.client();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("refuses the flooder with RATE_LIMITED then closes it (again on every reconnect); every request of a second client succeeds", async () => {
    const { perSecond, burst } = DEFAULT_CONFIG.gateway.rateLimit;
    const port = cluster.gateways[0]!.address().port;
    const stats = { sent: 0, rateLimited: 0, connections: 0, kicks: [] as { code: number; message: string }[] };
    let politeDone = false;

    /** One flooding connection: 1,000-frame writes until the gateway closes it. */
    async function floodOnce(): Promise<void> {
      const flooder = await RawClient.connect(port);
      stats.connections++;
      flooder.socket.on("data", () => {
        for (const p of flooder.packets.splice(0)) {
          if (p.kind === PacketKind.ERROR && p.code === ErrorCode.RATE_LIMITED) stats.rateLimited++;
          if (p.kind === PacketKind.KICK) stats.kicks.push({ code: p.code, message: p.message });
        }
      });
      let id = 0;
      while (!flooder.socket.destroyed && !flooder.socket.writableEnded) {
        const batch = Array.from({ length: 1_000 }, () => encodeFrame(PacketKind.REQUEST, ++id, "echo.Echo", null));
        flooder.socket.write(Buffer.concat(batch));
        stats.sent += batch.length;
        await new Promise((r) => setImmediate(r));
        if (id > 200 * burst) break; // never closed: the assertions below will say so
      }
      await flooder.closed;
    }
    // The flooder reconnects each time it is closed, for as long as the polite client runs.
    const flood = (async () => {
      await floodOnce();
      while (!politeDone) await floodOnce();
    })();

    // Meanwhile the polite client stays under its own limit: 20 at a time, then a pause.
    const N = 300;
    let ok = 0;
    for (let i = 0; i < N; i += 20) {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, j) => polite.request("echo.Echo", { text: `p${i + j}` })));
      ok += replies.filter((r, j) => r.text === `p${i + j}`).length;
      await new Promise((r) => setTimeout(r, Math.ceil((20 / perSecond) * 1000)));
    }
    politeDone = true;
    await flood;
    console.log(
      `flood: ${stats.sent} requests from one client over ${stats.connections} connections (limit ${perSecond}/s, burst ${burst}), ` +
        `${stats.rateLimited} answered RATE_LIMITED, ${stats.kicks.length} closes; polite client ${ok}/${N}`,
    );

    expect(ok).toBe(N);
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats.kicks.length).toBe(stats.connections);
    for (const k of stats.kicks) expect(k).toMatchObject({ code: ErrorCode.RATE_LIMITED, message: expect.stringMatching(/closed after too many refused frames/) });
    expect(cluster.gateways[0]!.sessionCount).toBe(1);
  });
});
