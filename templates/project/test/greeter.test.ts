import { afterAll, beforeAll, expect, test } from "vitest";
import { SwitchyardError } from "switchyard";
import { startCluster, type TestCluster } from "switchyard/testing";
import type { Routes } from "../generated/proto.js";
import greeter from "../modules/greeter/index.js";

// A real cluster (nats-server, redis-server, a gateway, login and greeter) on free ports.
let cluster: TestCluster<Routes>;
beforeAll(async () => {
  cluster = await startCluster<Routes>({ modules: ["login", { module: greeter, settings: { greeting: "Hi" } }] });
});
afterAll(() => cluster?.stop());

test("Greet answers with the greeting and pushes greeter.Greeted to the caller", async () => {
  const { client, uid } = await cluster.loggedInClient("ann");
  const pushed = new Promise((resolve) => client.on("greeter.Greeted", resolve));
  const reply = await client.request("greeter.Greet", { name: "Ann" });
  expect(reply.text).toBe(`Hi, Ann (from ${uid})`);
  expect(await pushed).toMatchObject({ text: reply.text, count: reply.count });
});

test("Greet without a name fails with BAD_REQUEST", async () => {
  const { client } = await cluster.loggedInClient("bob");
  const err = await client.request("greeter.Greet", { name: "" }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SwitchyardError);
  expect((err as SwitchyardError).code).toBe("BAD_REQUEST");
});
