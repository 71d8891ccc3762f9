import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectOnce, NatsUnreachableError } from "../../src/ctl/ctl-client.js";
import { startNats, type RunningServer } from "../helpers/servers.js";

describe("a one-shot tool (ctl) given several NATS URLs", () => {
  let hung: RunningServer;
  let live: RunningServer;

  beforeAll(async () => {
    [hung, live] = [await startNats(), await startNats()];
    // Stopped, not dead: the kernel still accepts TCP connections, nothing ever answers.
    hung.process.kill("SIGSTOP");
  });

  afterAll(async () => {
    hung?.process.kill("SIGCONT");
    await Promise.all([hung?.stop(), live?.stop()]);
  });

  it("skips a hung node after its handshake timeout and connects to the next URL", async () => {
    const startedAt = Date.now();
    const nc = await connectOnce({ url: `${hung.url},${live.url}` }, "ctl-test", 500);
    console.log(`[ctl connect] past a hung node in ${Date.now() - startedAt} ms`);
    expect(nc.getServer()).toBe(`127.0.0.1:${live.port}`);
    await nc.close();
  });

  it("fails with NatsUnreachableError naming the URLs when no node answers", async () => {
    await expect(connectOnce({ url: hung.url }, "ctl-test", 500)).rejects.toBeInstanceOf(NatsUnreachableError);
    await expect(connectOnce({ url: hung.url }, "ctl-test", 500)).rejects.toThrow(`cannot reach NATS at ${hung.url}`);
  });
});
