import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { BROWSER_BUNDLE, launchChromium, pageErrors } from "../helpers/browser.js";

/** A page that imports the bundle and reports what it exports, and what connect() says without a gateway. */
const PAGE = `<!doctype html><script type="module">
import * as sdk from "./switchyard-client.js";
const out = { exports: Object.keys(sdk).sort() };
try { await sdk.connect({ url: "ws://127.0.0.1:1/ws", timeoutMs: 2000 }); out.connect = "connected?"; }
catch (err) { out.connect = err.code + ": " + err.message; }
document.body.dataset.result = JSON.stringify(out);
</script>`;

describe("the browser SDK bundle (dist/browser/switchyard-client.js)", () => {
  let server: Server;
  let browser: Browser;
  let base = "";

  beforeAll(async () => {
    const bundle = readFileSync(BROWSER_BUNDLE);
    server = createServer((req, res) => {
      if (req.url === "/switchyard-client.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(bundle);
      else res.writeHead(200, { "Content-Type": "text/html" }).end(PAGE);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("imports nothing (no node: or bare module imports, no require)", () => {
    const text = readFileSync(BROWSER_BUNDLE, "utf8");
    expect(text.match(/node:[a-z_/]+/g)).toBeNull();
    // Statements of minified code start the file or follow ";", "}" or a newline.
    expect(text.match(/(?:^|[;}\n])\s*import[\s{*("']|\bimport\(|\brequire\(/g)).toBeNull();
    console.log(`browser bundle: ${text.length} bytes`);
  });

  it("loads as an ES module in chromium and connect() fails with UNAVAILABLE naming the URL when nothing listens", async () => {
    const page = await browser.newPage();
    const errors = pageErrors(page);
    await page.goto(base);
    await page.waitForSelector("body[data-result]", { state: "attached" });
    const result = JSON.parse((await page.locator("body").getAttribute("data-result"))!) as { exports: string[]; connect: string };
    expect(result.exports).toEqual(["ErrorCode", "SwitchyardError", "codeName", "connect", "isErrorCode"]);
    expect(result.connect).toMatch(/^UNAVAILABLE: cannot connect to ws:\/\/127\.0\.0\.1:1\/ws: /);
    // A refused WebSocket is logged by chromium itself; nothing else may fail on the page.
    expect(errors.filter((e) => !e.includes("WebSocket connection to"))).toEqual([]);
  });
});
