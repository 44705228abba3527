// Browser test of the demo's "Webhook log" panel: wrangler dev with WEBHOOK_URL and
// WEBHOOK_SECRET pointing at scripts/webhook-receiver.mjs (what `WEBHOOKS=1 make dev` runs),
// and the page polling the receiver's /events (?webhooks=). Also checks the receiver itself:
// it keeps only events whose signature checks out.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startServer, startWebhookReceiver } from "./server.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WAIT = { timeout: 30000 };

let receiver;
let server;
let browser;
let page;

/** The panel's rows, oldest first (the panel lists newest first): [type, summary]. */
const rows = () =>
  page.$$eval("#webhooks .webhook", (els) =>
    els.map((e) => [e.dataset.type, e.querySelector(".summary").textContent]).reverse());

describe("demo webhook log (WEBHOOKS=1)", () => {
  before(async () => {
    receiver = await startWebhookReceiver();
    server = await startServer({ DEV_TOKENS: "1", ...receiver.vars });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    page = await context.newPage();
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await server?.stop({ keepLog: process.exitCode ? true : false });
    await receiver?.stop();
  });

  test("the receiver refuses a POST whose signature does not check out", async () => {
    const body = JSON.stringify({ type: "user.online", timestamp: new Date().toISOString(), data: { user_id: "mallory" } });
    const resp = await fetch(receiver.vars.WEBHOOK_URL, {
      method: "POST",
      headers: {
        "webhook-id": "msg_forged",
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
        "webhook-signature": `v1,${Buffer.alloc(32).toString("base64")}`,
      },
      body,
    });
    assert.equal(resp.status, 400);
    assert.deepEqual((await receiver.events()).filter((e) => e.id === "msg_forged"), []);
  });

  test("signing in and sending a message show user.online then message.created in the panel", async () => {
    const q = new URLSearchParams({ user: "alice", name: "Alice", conversation: "general", org: "acme", webhooks: receiver.eventsUrl });
    await page.goto(`${server.origin}/?${q}`);
    await page.locator('.conn[data-stream="chat"][data-state="open"]').waitFor(WAIT);
    const online = page.locator('#webhooks .webhook[data-type="user.online"]', { hasText: "alice" });
    await online.waitFor(WAIT);
    assert.equal(await page.locator("#webhook-hint").isHidden(), true);

    await page.fill("#message-input", "hello webhooks");
    await page.press("#message-input", "Enter");
    const created = page.locator('#webhooks .webhook[data-type="message.created"]', { hasText: "hello webhooks" });
    await created.waitFor(WAIT);

    const shown = await rows();
    const online_at = shown.findIndex(([t, s]) => t === "user.online" && s === "alice");
    const created_at = shown.findIndex(([t]) => t === "message.created");
    assert.ok(online_at >= 0 && created_at > online_at, `user.online before message.created: ${JSON.stringify(shown)}`);
    assert.deepEqual(shown[created_at], ["message.created", "#general Alice: hello webhooks"]);
    // Every row is an event the receiver verified, each listed once.
    const events = await receiver.events();
    assert.ok(events.every((e) => e.verified === true));
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    const ids = await page.$$eval("#webhooks .webhook", (els) => els.map((e) => e.dataset.id));
    assert.equal(new Set(ids).size, ids.length);
    const msg = events.find((e) => e.type === "message.created");
    assert.equal(msg.data.content, "hello webhooks");
    assert.equal(msg.data.conversation_id, "general");
  });

  test("without a receiver the panel shows the hint", async () => {
    const q = new URLSearchParams({ user: "bob", name: "Bob", conversation: "general", org: "acme",
      webhooks: "http://127.0.0.1:9/events" });
    const other = await page.context().newPage();
    await other.goto(`${server.origin}/?${q}`);
    await other.locator("#webhook-hint").waitFor({ state: "visible", ...WAIT });
    assert.match(await other.locator("#webhook-hint").textContent(), /WEBHOOKS=1 make dev/);
    assert.equal(await other.locator("#webhooks").isHidden(), true);
    await other.close();
  });
});
