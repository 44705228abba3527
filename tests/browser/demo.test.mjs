// Browser tests of the demo page and realtime.js: two users in two browser contexts
// against a real `wrangler dev` (fresh state). Chromium from Debian, driven by playwright-core.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT, apiKey, startServer } from "./server.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WAIT = { timeout: 30000 };

let server;
let browser;
let alice; // context
let bob; // context
let pageA;
let pageB;

async function openAs(context, user, name) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${user}] page error: ${e.message}`));
  await page.goto(`${server.origin}/?user=${user}&name=${name}&conversation=general&org=acme`);
  await page.locator('.conn[data-stream="chat"][data-state="open"]').waitFor(WAIT);
  await page.locator('.conn[data-stream="inbox"][data-state="open"]').waitFor(WAIT);
  return page;
}

async function serverApi(method, path, body) {
  const resp = await fetch(`${server.origin}${path}`, {
    method,
    headers: { Authorization: `Bearer ${apiKey()}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await resp.json();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

/** The message whose own content (not a reply preview) contains `text`. */
const message = (page, text) =>
  page.locator("#messages .message").filter({ has: page.locator(".content", { hasText: text }) });

async function send(page, text) {
  await page.fill("#message-input", text);
  await page.press("#message-input", "Enter");
  await message(page, text).waitFor(WAIT);
}

describe("demo page (DEV_TOKENS=1)", () => {
  before(async () => {
    server = await startServer({ DEV_TOKENS: "1" });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    alice = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    bob = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    pageA = await openAs(alice, "alice", "Alice");
    pageB = await openAs(bob, "bob", "Bob");
  });

  after(async () => {
    await browser?.close();
    await server?.stop({ keepLog: process.exitCode ? true : false });
  });

  test("the page and the client are served as static assets", async () => {
    const html = await (await fetch(`${server.origin}/`)).text();
    assert.match(html, /edge-realtime demo/);
    const js = await (await fetch(`${server.origin}/realtime.js`)).text();
    assert.match(js, /export class RealtimeClient/);
  });

  test("a message sent by one user appears for the other", async () => {
    await send(pageA, "hello from alice");
    await message(pageB, "hello from alice").waitFor(WAIT);
    assert.equal(await message(pageB, "hello from alice").locator(".sender").textContent(), "Alice");
  });

  test("typing shows and clears", async () => {
    await pageB.locator("#message-input").pressSequentially("hi al", { delay: 20 });
    await pageA.waitForFunction(() => document.querySelector("#typing").textContent.includes("Bob is typing"), null, WAIT);
    await pageB.fill("#message-input", "");
    await pageA.waitForFunction(() => document.querySelector("#typing").textContent === "", null, WAIT);
  });

  test("presence goes online and offline", async () => {
    await pageA.locator('#presence li[data-user-id="bob"]').waitFor(WAIT);
    const carolCtx = await browser.newContext();
    const carol = await openAs(carolCtx, "carol", "Carol");
    await pageA.locator('#presence li[data-user-id="carol"]').waitFor(WAIT);
    await carol.locator('#presence li[data-user-id="alice"]').waitFor(WAIT);
    await carolCtx.close();
    await pageA.locator('#presence li[data-user-id="carol"]').waitFor({ ...WAIT, state: "detached" });
    assert.equal(await pageA.locator('#presence li[data-user-id="bob"]').count(), 1);
  });

  test("replies, reactions, read receipts, edits and deletes", async () => {
    await send(pageA, "please react");
    const onB = message(pageB, "please react");
    await onB.waitFor(WAIT);
    // Bob's page sent a read receipt for the newest message from Alice.
    await message(pageA, "please react").locator(".seen", { hasText: "bob" }).waitFor(WAIT);
    await onB.hover();
    await onB.locator("button.react", { hasText: "👍" }).click();
    await message(pageA, "please react").locator(".chip", { hasText: "👍 1" }).waitFor(WAIT);
    await onB.locator("button.reply").click();
    await send(pageB, "a reply from bob");
    await message(pageA, "a reply from bob").locator(".reply-to", { hasText: "please react" }).waitFor(WAIT);

    const mine = message(pageA, "please react");
    await mine.hover();
    await mine.locator("button.edit").click();
    const editor = pageA.locator("#messages .edit-input");
    await editor.fill("edited by alice");
    await editor.press("Enter");
    await message(pageB, "edited by alice").locator(".edited").waitFor(WAIT);
    const edited = message(pageA, "edited by alice");
    await edited.hover();
    await edited.locator("button.delete").click();
    await pageB.locator("#messages .message.deleted", { hasText: "message deleted" }).waitFor(WAIT);
    assert.equal(await message(pageB, "edited by alice").count(), 0);
  });

  test("a notification shows a toast and the badge; reading it clears both tabs", async () => {
    const pageA2 = await openAs(alice, "alice", "Alice");
    const published = await serverApi("POST", "/api/notifications", {
      user_id: "alice",
      notification: { title: "Build finished", body: "main is green" },
    });
    assert.equal(published.notifications.length, 1);
    for (const page of [pageA, pageA2]) {
      await page.locator(".toast", { hasText: "Build finished" }).waitFor(WAIT);
      await page.locator('#bell[data-unread="1"]').waitFor(WAIT);
      assert.equal(await page.locator("#badge").textContent(), "1");
      assert.equal(await page.locator("#badge").isVisible(), true);
    }
    await pageA.click("#bell");
    await pageA.locator(".notification", { hasText: "Build finished" }).locator(".mark-read").click();
    for (const page of [pageA, pageA2]) {
      await page.locator('#bell[data-unread="0"]').waitFor(WAIT);
      await page.locator("#badge").waitFor({ ...WAIT, state: "hidden" });
    }
    await pageA2.close();
  });

  test("org events reach the events panel", async () => {
    await pageA.locator('.conn[data-stream="events"][data-state="open"]').waitFor(WAIT);
    await serverApi("POST", "/api/orgs/acme/events", { event_type: "deploy", data: { version: "1.2.3" } });
    await pageA.locator("#events .event", { hasText: "1.2.3" }).waitFor(WAIT);
  });

  test("offline then online: missed messages show once, in order", async () => {
    await bob.setOffline(true);
    await pageB.locator('.conn[data-stream="chat"]:not([data-state="open"])').waitFor(WAIT);
    for (const n of [1, 2, 3]) await send(pageA, `while offline ${n}`);
    await bob.setOffline(false);
    await pageB.locator('.conn[data-stream="chat"][data-state="open"]').waitFor(WAIT);
    await message(pageB, "while offline 3").waitFor(WAIT);
    const got = await pageB.$$eval("#messages .message .content", (els) =>
      els.map((e) => e.textContent).filter((t) => t.startsWith("while offline")),
    );
    assert.deepEqual(got, ["while offline 1", "while offline 2", "while offline 3"]);
    // And the live stream continues after the resume.
    await send(pageA, "back online");
    await message(pageB, "back online").waitFor(WAIT);
  });

  test("screenshot of the demo", async () => {
    const dir = join(ROOT, "test-results");
    mkdirSync(dir, { recursive: true });
    await pageA.screenshot({ path: join(dir, "demo.png") });
  });
});

describe("without DEV_TOKENS", () => {
  test("GET /dev/token is the ordinary 404", async () => {
    const plain = await startServer({ DEV_TOKENS: "0" });
    try {
      const resp = await fetch(`${plain.origin}/dev/token?user=alice`);
      assert.equal(resp.status, 404);
      assert.equal((await resp.json()).error.code, "not_found");
    } finally {
      await plain.stop();
    }
  });
});
