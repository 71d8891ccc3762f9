import { describe, expect, it } from "vitest";
import { natsServerConfig } from "../../../src/servers/nats-server-config.js";

describe("natsServerConfig with a cluster node", () => {
  const text = natsServerConfig({
    host: "127.0.0.1",
    port: 4222,
    cluster: { name: "switchyard", host: "127.0.0.1", port: 6222, peers: ["127.0.0.1:6223", "127.0.0.1:6224"], user: "route", password: "p@ss" },
  });

  it("has a route listener that wants the route user, and routes to the peers with it (URL-encoded)", () => {
    expect(text).toContain(
      [
        "cluster {",
        '  name: "switchyard"',
        '  host: "127.0.0.1"',
        "  port: 6222",
        '  authorization { user: "route", password: "p@ss" }',
        '  routes = ["nats-route://route:p%40ss@127.0.0.1:6223", "nats-route://route:p%40ss@127.0.0.1:6224"]',
        "}",
      ].join("\n"),
    );
  });

  it("pings peers and clients every second (a hung peer is dropped after 3 unanswered)", () => {
    expect(text).toContain('ping_interval: "1s"\nping_max: 3\n');
  });

  it("a single server has neither", () => {
    const single = natsServerConfig({ host: "127.0.0.1", port: 4222 });
    expect(single).not.toContain("cluster");
    expect(single).not.toContain("ping_interval");
  });
});
