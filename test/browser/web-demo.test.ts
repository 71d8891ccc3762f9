import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startDemoServer, type DemoServer } from "../../src/web/index.js";
import { gameStackSpec } from "../helpers/game-cluster.js";
import { launchChromium, pageErrors, screenshot } from "../helpers/browser.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";

/** Waits for each UI step (pushes, polls); a step that never shows fails the test. */
const STEP_MS = 10_000;

/** Waits until element `selector` of `page` has exactly `text`. */
async function shows(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout: STEP_MS });
  expect((await page.locator(selector).first().textContent())?.trim()).toBe(text);
}

/** Waits until list `selector` of `page` holds exactly `items` (its li texts). */
async function lists(page: Page, selector: string, items: string[]): Promise<void> {
  const li = page.locator(`${selector} > li`);
  await expect.poll(() => li.allTextContents(), { timeout: STEP_MS }).toEqual(items);
}

async function signUp(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url);
  await page.locator("#connection").filter({ hasText: /^connected to ws:\/\// }).waitFor({ timeout: STEP_MS });
  await page.fill("#username", username);
  await page.fill("#password", "password-1");
  await page.click("#register");
  await shows(page, "#me", `registered ${username}: now log in`);
  await page.click("#login");
  await shows(page, "#me", `logged in as ${username}`);
}

async function move(page: Page, cell: number): Promise<void> {
  await page.locator(`#board button[data-cell="${cell}"]:enabled`).click({ timeout: STEP_MS });
}

describe("the web demo in a real browser (headless chromium, two pages, over WebSocket through the browser bundle)", () => {
  let cluster: TestCluster;
  let demo: DemoServer;
  let browser: Browser;

  beforeAll(async () => {
    cluster = await startTestCluster(gameStackSpec());
    const gw = cluster.gateways[0]!;
    demo = await startDemoServer({ host: "127.0.0.1", port: 0, client: { gate: `http://127.0.0.1:${gw.wsAddress()!.port}/gate` } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await cluster?.stop();
  });

  it("register, log in, team up and chat, lobby counts, QuickJoin, a game to the end, the winner in rank.Top", async () => {
    const alice = await browser.newPage();
    const bob = await browser.newPage();
    const errors = [...[alice, bob].map(pageErrors)];
    await signUp(alice, demo.url, "alice");
    await signUp(bob, demo.url, "bob");

    // team up: alice creates an open team, bob joins it by id; both pages list both members
    await alice.click("#team-create");
    await alice.locator("#team-info").filter({ hasText: /^team alice-team \(id \w+\), leader alice$/ }).waitFor({ timeout: STEP_MS });
    const teamId = (await alice.locator("#team-info").getAttribute("data-team-id"))!;
    await bob.fill("#team-join-id", teamId);
    await bob.click("#team-join");
    await shows(bob, "#team-info", `team alice-team (id ${teamId}), leader alice`);
    await lists(alice, "#team-members", ["alice", "bob"]);
    await lists(bob, "#team-members", ["alice", "bob"]);

    // team chat both ways
    await alice.fill("#chat-text", "good luck, bob");
    await alice.click("#chat-send");
    await lists(bob, "#chat-log", ["alice: good luck, bob"]);
    await bob.fill("#chat-text", "you too");
    await bob.click("#chat-send");
    await lists(alice, "#chat-log", ["alice: good luck, bob", "bob: you too"]);

    // lobby: alice opens a room; bob's lobby shows it with its live count
    await alice.click("#quick-join");
    await alice.locator("#game-status").filter({ hasText: /^waiting for an opponent in room \S+$/ }).waitFor({ timeout: STEP_MS });
    const roomId = ((await alice.locator("#game-status").textContent()) ?? "").split(" ").pop()!;
    await expect.poll(() => bob.locator("#rooms tr").allInnerTexts(), { timeout: STEP_MS }).toEqual([`${roomId}\t1/2\topen`]);

    // bob joins the same room: the game starts, alice (seat 0) plays X first
    await bob.click("#quick-join");
    await shows(alice, "#game-status", "your turn (X)");
    await shows(bob, "#game-status", "opponent's turn (you are O)");
    await expect.poll(() => alice.locator("#rooms tr").allInnerTexts(), { timeout: STEP_MS }).toEqual([`${roomId}\t2/2\tfull`]);

    // X takes the top row: 0, 1, 2 (O plays 3, 4)
    for (const [page, other, cell] of [
      [alice, bob, 0],
      [bob, alice, 3],
      [alice, bob, 1],
      [bob, alice, 4],
    ] as const) {
      await move(page, cell);
      await shows(other, "#game-status", other === alice ? "your turn (X)" : "your turn (O)");
    }
    await move(alice, 2);
    await shows(alice, "#game-status", "game over: you won");
    await shows(bob, "#game-status", "game over: you lost");
    expect(await bob.locator("#board button").allTextContents()).toEqual(["X", "X", "X", "O", "O", "", "", "", ""]);

    // the winner's point on the tictactoe board, shown by rank.Top on both pages
    await lists(alice, "#rank-top", ["alice — 1"]);
    await lists(bob, "#rank-top", ["alice — 1"]);

    for (const [page, name] of [
      [alice, "web-demo-alice.png"],
      [bob, "web-demo-bob.png"],
    ] as const) {
      const path = await screenshot(page, name);
      expect(statSync(path).size).toBeGreaterThan(0);
      console.log(`screenshot: ${path}`);
    }
    expect(await alice.locator("#status").textContent()).toBe("");
    expect(await bob.locator("#status").textContent()).toBe("");
    expect(errors.flat()).toEqual([]);
  }, 90_000);
});
