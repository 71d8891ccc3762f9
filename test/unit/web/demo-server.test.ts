import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../src/config/cluster-config.js";
import { demoClientConfig, startDemoServer, type DemoServer } from "../../../src/web/index.js";

describe("the web demo server", () => {
  let dir: string;
  let server: DemoServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sy-web-"));
    writeFileSync(join(dir, "index.html"), "<p>demo</p>");
    writeFileSync(join(dir, "app.js"), "export {};");
    writeFileSync(join(dir, "notes.txt"), "not served");
    server = await startDemoServer({ host: "127.0.0.1", port: 0, client: { gate: "http://127.0.0.1:3251/gate" }, dir });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the page at /, its files with their type, and /config.json naming the gate", async () => {
    const page = await fetch(server.url);
    expect([page.status, page.headers.get("content-type"), await page.text()]).toEqual([200, "text/html; charset=utf-8", "<p>demo</p>"]);
    const js = await fetch(new URL("app.js", server.url));
    expect([js.status, js.headers.get("content-type"), js.headers.get("cache-control")]).toEqual([200, "text/javascript; charset=utf-8", "no-store"]);
    expect(await (await fetch(new URL("config.json", server.url))).json()).toEqual({ gate: "http://127.0.0.1:3251/gate" });
  });

  it("answers nothing else: 404 for other paths (also files of other types and traversal), 405 for other methods", async () => {
    for (const path of ["notes.txt", "../package.json", "%2e%2e/package.json", "nope.js"]) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(server.url, { method: "POST", body: "x" })).status).toBe(405);
  });

  it("a folder without the built demo is refused with the command that builds it", async () => {
    await expect(startDemoServer({ host: "127.0.0.1", port: 0, client: {}, dir: join(dir, "missing") })).rejects.toThrow(/no web demo in .*missing: build it with `npm run build`/);
  });

  it("the page's gate is the first gateway with a wsPort, dialable", () => {
    const cfg = { ...DEFAULT_CONFIG, gateways: [{ id: "a", host: "0.0.0.0", port: 1 }, { id: "b", host: "0.0.0.0", port: 2, wsPort: 3 }] };
    expect(demoClientConfig(cfg)).toEqual({ gate: "http://127.0.0.1:3/gate" });
    expect(demoClientConfig({ ...DEFAULT_CONFIG, gateways: [{ id: "a", host: "h", port: 1 }] })).toEqual({});
  });
});
