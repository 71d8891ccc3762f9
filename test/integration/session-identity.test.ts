import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { services } from "../../src/generated/proto.js";
import { defineModule } from "../../src/module/index.js";
import loginModule from "../../modules/login/index.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { failure } from "../helpers/failure.js";

/** An instance id nothing subscribes to: a request pinned there is answered UNAVAILABLE. */
const GONE = "echo-gone";

/** echo whose Echo "pin" pins the session to an instance that does not exist. */
const pinningEcho = defineModule(services.echo, {
  version: "1.0.0",
  handlers: {
    Echo(ctx, req) {
      if (req.text === "pin") ctx.pin(GONE);
      return { text: req.text, servedBy: ctx.module.instanceId, version: ctx.module.version };
    },
    Sleep: () => ({ text: "" }),
    WhoAmI(ctx) {
      return { uid: ctx.session?.uid ?? "", sid: ctx.session?.sid ?? 0, gatewayId: ctx.session?.gatewayId ?? "" };
    },
  },
});

describe("a session's pins belong to its uid", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster({ modules: [{ def: loginModule, instances: 1 }, { def: pinningEcho, instances: 1 }] });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("a pin does not survive login.Logout, nor a login as another account on the same connection", async () => {
    const { client, token } = await cluster.loggedInClient("pinner1");
    await client.request("login.Register", { username: "pinner2", password: "password-1" });

    // pinned: the next echo request goes to the missing instance
    await client.request("echo.Echo", { text: "pin" });
    expect((await failure(client.request("echo.Echo", { text: "pinned?" }))).code).toBe("UNAVAILABLE");

    await client.request("echo.Echo", { text: "pin" });
    await client.request("login.Logout", { token });
    await client.request("login.Login", { username: "pinner1", password: "password-1" });
    expect((await client.request("echo.Echo", { text: "after logout" })).servedBy).not.toBe(GONE);

    await client.request("echo.Echo", { text: "pin" });
    const second = await client.request("login.Login", { username: "pinner2", password: "password-1" });
    expect((await client.request("echo.Echo", { text: "after the switch" })).text).toBe("after the switch");
    expect((await client.request("echo.WhoAmI", {})).uid).toBe(second.uid);
  });
});
