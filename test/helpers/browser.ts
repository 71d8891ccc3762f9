import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { projectRoot } from "../../src/config/cluster-config.js";

/** Debian's chromium, installed by scripts/setup.sh (playwright-core downloads no browser). */
export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? "/usr/bin/chromium";

/** The browser SDK bundle that `npm run build` (scripts/build-browser.mjs) writes. */
export const BROWSER_BUNDLE = join(projectRoot(), "dist", "browser", "switchyard-client.js");

/** Where browser tests write their screenshots (gitignored). */
export const TEST_OUTPUT_DIR = join(projectRoot(), "test-output");

/** Starts headless chromium; root needs --no-sandbox (CI and this machine run tests as root). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: run \`npm run setup\` (as root it runs apt-get install chromium), or set SWITCHYARD_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/** Collects a page's uncaught errors and console errors, to assert there were none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console.error: ${msg.text()}`);
  });
  return errors;
}

/** Writes a screenshot of `page` to test-output/`name` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
  const path = join(TEST_OUTPUT_DIR, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}
