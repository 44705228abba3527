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

/**
 * Installed before any page script: every WebSocket the page opens is recorded in
 * `window.__sockets` as {path, frames} (the text frames it received, in order).
 */
function recordSockets() {
  const Native = window.WebSocket;
  const sockets = [];
  window.__sockets = sockets;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      const rec = { path: new URL(url, location.href).pathname, frames: [] };
      sockets.push(rec);
      this.addEventListener("message", (e) => typeof e.data === "string" && rec.frames.push(e.data));
    }
  };
}

/** The paths of the sockets a page opened, sorted. */
const socketPaths = (page) => page.evaluate(() => window.__sockets.map((s) => s.path).sort());

/** The frames the page's sockets on `path` received, parsed, in order. */
const framesOn = (page, path) =>
  page.evaluate((p) => window.__sockets.filter((s) => s.path === p).flatMap((s) => s.frames.map((t) => JSON.parse(t))), path);

/** A page signed in as `user` (`extra`: more query parameters, e.g. {mode: "rooms"}). */
async function openAs(context, user, name, extra = {}) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[${user}] page error: ${e.message}`));
  const q = new URLSearchParams({ user, name, conversation: "general", org: "acme", ...extra });
  await page.goto(`${server.origin}/?${q}`);
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
    await alice.addInitScript(recordSockets);
    await bob.addInitScript(recordSockets);
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

  test("by default the page chats and gets notifications through one session socket", async () => {
    await send(pageA, "session ping from alice");
    await message(pageB, "session ping from alice").waitFor(WAIT);
    await send(pageB, "session pong from bob");
    await message(pageA, "session pong from bob").waitFor(WAIT);
    const ours = (texts) => texts.filter((t) => t.startsWith("session p"));
    for (const page of [pageA, pageB]) {
      assert.equal(await page.locator("#mode").getAttribute("data-mode"), "session");
      const shown = await page.$$eval("#messages .message .content", (els) => els.map((e) => e.textContent));
      assert.deepEqual(ours(shown), ["session ping from alice", "session pong from bob"]);
      // One socket for chat and notifications (/ws/chat/, no id); org events have their own.
      assert.deepEqual(await socketPaths(page), ["/ws/chat/", "/ws/events/acme/"]);
      const frames = await framesOn(page, "/ws/chat/");
      assert.equal(frames[0].type, "connection.established");
      assert.deepEqual(frames[0].conversations, []);
      assert.equal(typeof frames[0].unread_count, "number");
      const joined = frames.filter((f) => f.type === "joined");
      assert.deepEqual(joined.map((f) => f.conversation_id), ["general"]);
      const chats = frames.filter((f) => f.type === "chat_message" && f.message.content.startsWith("session p"));
      assert.deepEqual(chats.map((f) => [f.conversation_id, f.message.content]), [
        ["general", "session ping from alice"],
        ["general", "session pong from bob"],
      ]);
      assert.ok(chats[0].seq < chats[1].seq);
    }
    // Each sender got its ack on the session, tagged with the conversation.
    const acks = (await framesOn(pageA, "/ws/chat/")).filter((f) => f.type === "ack" && f.conversation_id === "general");
    assert.ok(acks.length >= 1, "alice's message was acknowledged on the session");
  });

  test("?mode=rooms uses one socket per room, and chats with a session page", async () => {
    const rooms = await openAs(alice, "alice", "Alice", { mode: "rooms" });
    try {
      assert.equal(await rooms.locator("#mode").getAttribute("data-mode"), "rooms");
      assert.match(await rooms.locator("#mode-switch").getAttribute("href"), /mode=session/);
      assert.match(await pageA.locator("#mode-switch").getAttribute("href"), /mode=rooms/);
      await send(pageB, "to the rooms page");
      await message(rooms, "to the rooms page").waitFor(WAIT);
      await send(rooms, "from the rooms page");
      await message(pageB, "from the rooms page").waitFor(WAIT);
      await message(pageA, "from the rooms page").waitFor(WAIT);
      assert.deepEqual(await socketPaths(rooms), ["/ws/chat/general/", "/ws/events/acme/", "/ws/notifications/"]);
      const chats = (await framesOn(rooms, "/ws/chat/general/")).filter((f) => f.type === "chat_message");
      assert.deepEqual(chats.map((f) => f.message.content).slice(-2), ["to the rooms page", "from the rooms page"]);
    } finally {
      await rooms.close();
    }
  });

  test("one session socket carries several conversations, each in its own tab and order", async () => {
    const multi = await openAs(alice, "alice", "Alice", { conversation: "general,random" });
    const bobRandom = await openAs(bob, "bob", "Bob", { conversation: "random" });
    try {
      await multi.locator('.tab[data-conversation="random"][data-state="open"]').waitFor(WAIT);
      assert.equal(await multi.locator('.tab[aria-selected="true"]').getAttribute("data-conversation"), "general");
      // A message in the tab not shown counts as unread there.
      await send(bobRandom, "random 1 from bob");
      await multi.locator('.tab[data-conversation="random"][data-unread="1"]').waitFor(WAIT);
      assert.equal(await message(multi, "random 1 from bob").count(), 0);
      assert.equal(await multi.locator('.tab[data-conversation="general"]').textContent(), "#general");
      assert.equal(await multi.locator('.tab[data-conversation="random"]').textContent(), "#random1");
      await send(pageB, "general 1 from bob");
      await message(multi, "general 1 from bob").waitFor(WAIT);
      await multi.click('.tab[data-conversation="random"]');
      await message(multi, "random 1 from bob").waitFor(WAIT);
      await send(multi, "random 2 from alice");
      await message(bobRandom, "random 2 from alice").waitFor(WAIT);
      const shown = await multi.$$eval("#messages .message .content", (els) => els.map((e) => e.textContent));
      assert.deepEqual(shown, ["random 1 from bob", "random 2 from alice"]);

      assert.deepEqual(await socketPaths(multi), ["/ws/chat/", "/ws/events/acme/"]);
      const frames = await framesOn(multi, "/ws/chat/");
      const joined = frames.filter((f) => f.type === "joined").map((f) => f.conversation_id);
      assert.deepEqual(joined.sort(), ["general", "random"]);
      const ours = frames.filter((f) => f.type === "chat_message" && / [12] from /.test(f.message.content));
      assert.deepEqual(ours.map((f) => [f.conversation_id, f.message.conversation_id, f.message.content]), [
        ["random", "random", "random 1 from bob"],
        ["general", "general", "general 1 from bob"],
        ["random", "random", "random 2 from alice"],
      ]);
      assert.ok(ours[0].seq < ours[2].seq, "seq increases within a conversation");
    } finally {
      await multi.close();
      await bobRandom.close();
    }
  });

  test("removed from a conversation: its tab stops, the session goes on", async () => {
    const page = await openAs(alice, "alice", "Alice", { conversation: "general,temp" });
    try {
      await page.locator('.tab[data-conversation="temp"][data-state="open"]').waitFor(WAIT);
      await serverApi("DELETE", "/api/conversations/temp/members/alice");
      await page.locator(".toast", { hasText: "You were removed from #temp" }).waitFor(WAIT);
      await page.locator('.tab[data-conversation="temp"][data-state="stopped"]').waitFor(WAIT);
      const left = (await framesOn(page, "/ws/chat/")).filter((f) => f.type === "left");
      assert.deepEqual(left, [{ type: "left", conversation_id: "temp", reason: "removed" }]);
      // The same socket still carries #general.
      await send(pageB, "after the removal");
      await message(page, "after the removal").waitFor(WAIT);
      assert.equal(await page.locator('.tab[data-conversation="general"]').getAttribute("data-state"), "open");
      assert.deepEqual(await socketPaths(page), ["/ws/chat/", "/ws/events/acme/"]);
    } finally {
      await page.close();
    }
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
      // It came on the session socket (the page has no /ws/notifications/ socket).
      const got = (await framesOn(page, "/ws/chat/")).filter((f) => f.type === "notification");
      assert.deepEqual(got.map((f) => [f.notification.title, "conversation_id" in f]), [["Build finished", false]]);
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
