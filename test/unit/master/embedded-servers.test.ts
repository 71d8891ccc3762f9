import { describe, expect, it } from "vitest";
import { hostPort, hostPorts, pidFilePath } from "../../../src/master/embedded-servers.js";

describe("hostPort", () => {
  it("reads host and port of nats/redis URLs, with defaults", () => {
    expect(hostPort("nats://127.0.0.1:4222", 4222)).toEqual({ host: "127.0.0.1", port: 4222 });
    expect(hostPort("nats://a:4300, nats://b:4301", 4222)).toEqual({ host: "a", port: 4300 });
    expect(hostPort("redis://:secret@localhost", 6379)).toEqual({ host: "localhost", port: 6379 });
    expect(hostPort("127.0.0.1:5000", 4222)).toEqual({ host: "127.0.0.1", port: 5000 });
    expect(hostPort("nats://[::1]:4222", 4222)).toEqual({ host: "::1", port: 4222 });
  });

  it("reads every URL of a NATS cluster list", () => {
    expect(hostPorts("nats://127.0.0.1:4222, nats://127.0.0.1:4223,127.0.0.1", 4222)).toEqual([
      { host: "127.0.0.1", port: 4222 },
      { host: "127.0.0.1", port: 4223 },
      { host: "127.0.0.1", port: 4222 },
    ]);
  });

  it("keeps one pid file per server and port", () => {
    expect(pidFilePath("/run/sy", "nats-server", 4222)).toBe("/run/sy/run/nats-server-4222.pid");
  });
});
