import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log/logger.js";
import { startMasterHttp, type MasterHttp } from "../../../src/master/http-server.js";

describe("the master's HTTP server: console actions behind master.adminToken", () => {
  let http: MasterHttp | undefined;
  const calls: unknown[] = [];

  afterEach(async () => {
    await http?.close();
    http = undefined;
    calls.length = 0;
  });

  async function start(adminToken: string): Promise<MasterHttp> {
    http = await startMasterHttp({
      host: "127.0.0.1",
      port: 0,
      adminToken,
      log: createLogger("master", "test", "silent"),
      metrics: () => Promise.resolve("# HELP x_total x\n# TYPE x_total counter\nx_total 1\n"),
      overview: () => Promise.resolve({ ok: true }),
      actions: { scale: (body) => (calls.push(body), { scaled: true }) },
    });
    return http;
  }

  const post = (base: string, path: string, token: string | null, body: unknown): Promise<Response> =>
    fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(token !== null ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

  it("without a token in the config every action is FORBIDDEN (403) and nothing runs", async () => {
    const { url } = await start("");
    for (const token of [null, "", "anything"]) {
      const res = await post(url, "api/scale", token, { module: "echo", instances: 2 });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("master.adminToken") });
    }
    expect(calls).toEqual([]);
  });

  it("with a token: none or a wrong one is UNAUTHENTICATED (401), the right one runs the action", async () => {
    const { url } = await start("s3cret-token");
    for (const token of [null, "s3cret-toke", "s3cret-token-", "wrong"]) {
      const res = await post(url, "api/scale", token, { module: "echo", instances: 2 });
      expect({ token, status: res.status }).toEqual({ token, status: 401 });
    }
    expect(calls).toEqual([]);
    const ok = await post(url, "api/scale", "s3cret-token", { module: "echo", instances: 2 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ scaled: true });
    expect(calls).toEqual([{ module: "echo", instances: 2 }]);
    const unknown = await post(url, "api/reboot", "s3cret-token", {});
    expect(unknown.status).toBe(404);
  });

  it("serves /metrics as Prometheus text and the overview as JSON", async () => {
    const { url } = await start("");
    const m = await fetch(`${url}metrics`);
    expect(m.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await m.text()).toContain("x_total 1");
    expect(await (await fetch(`${url}api/overview`)).json()).toEqual({ ok: true });
    expect((await fetch(`${url}nope`)).status).toBe(404);
  });
});
