// The demo page: development sign-in, one or more conversations (tabs), notifications and
// org events, all through realtime.js. Plain DOM code, no build step.
//
// Two ways to connect (`?mode=` or the sign-in form; the header links to the other one):
// * session (default): one socket, /ws/chat/, carries the notifications and every joined
//   conversation (RealtimeSession + join());
// * rooms: one socket per stream, /ws/chat/{id}/ and /ws/notifications/ (RealtimeClient).
// Org events have their own socket in both.
import { RealtimeClient, RealtimeSession } from "/realtime.js";

const $ = (sel) => document.querySelector(sel);
const WS_BASE = location.origin.replace(/^http/, "ws");
const REACTIONS = ["👍", "❤️", "😂"];

/** Builds an element: h("li", {class: "x", dataset: {id}}, "text", child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const MODES = { session: "one socket (session)", rooms: "one socket per room" };

const state = {
  mode: "session", // or "rooms"
  me: null, // {id, name}
  conversations: [], // the ids signed in to, in tab order
  convs: new Map(), // id -> the view state of one conversation (newConversation)
  active: null, // the id shown
  org: null,
  token: null,
  tokenExp: 0,
  session: null, // the RealtimeSession in session mode
  inbox: null, // notifications: the session itself, or a RealtimeClient
  events: null,
  notifications: new Map(), // id -> view
  replyTo: null,
};

/** One conversation: its client (a session's Conversation handle, or a RealtimeClient). */
function newConversation(id) {
  return {
    id,
    chat: null,
    state: "idle",
    code: null,
    messages: new Map(), // id -> {view, reactions: Map<emoji, Set<user>>, seenBy: Set<user>, el}
    presence: new Map(), // user_id -> name
    typing: new Map(), // user_id -> {name, timer}
    unread: 0,
    lastReceipt: null,
    receiptTimer: null,
    tab: null,
  };
}

/** The conversation shown. */
const current = () => state.convs.get(state.active);
// For tests and the console: the shown conversation's client.
Object.defineProperty(state, "chat", { get: () => current()?.chat ?? null, enumerable: true });

// ---- sign-in and tokens -----------------------------------------------------------------

/** A token; with `join`, the dev endpoint also makes the user a member of that conversation. */
async function fetchToken(join = state.conversations[0]) {
  const q = new URLSearchParams({ user: state.me.id, name: state.me.name });
  if (state.org) q.set("orgs", state.org);
  if (join) q.set("join", join);
  const resp = await fetch(`/dev/token?${q}`);
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const why = body.error?.message ?? resp.statusText;
    throw new Error(resp.status === 404 ? "dev tokens are off (set DEV_TOKENS=\"1\" in .dev.vars)" : why);
  }
  state.token = body.token;
  const claims = JSON.parse(atob(body.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  state.tokenExp = claims.exp * 1000;
  return body.token;
}

/** The current token, renewed when it has less than five minutes left. */
async function getToken() {
  if (!state.token || state.tokenExp - Date.now() < 5 * 60 * 1000) await fetchToken();
  return state.token;
}

async function api(path) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${await getToken()}` } });
  if (!resp.ok) throw new Error(`${path}: ${resp.status}`);
  return resp.json();
}

/** `conversations`: one id or a comma list ("general, random"): one tab each. */
async function signIn(id, name, conversations, org, mode) {
  const ids = [...new Set(conversations.split(",").map((c) => c.trim()).filter(Boolean))];
  if (!ids.length) throw new Error("name at least one conversation");
  state.me = { id, name: name || id };
  state.conversations = ids;
  state.org = org || null;
  state.mode = mode === "rooms" ? "rooms" : "session";
  for (const c of ids) await fetchToken(c); // each one joins the user to one conversation
  $("#sign-in").hidden = true;
  $("#app").hidden = false;
  $("#me").hidden = false;
  $("#me-name").textContent = `${state.me.name} (${id})`;
  $("#org-name").textContent = org ? `(${org})` : "";
  $("#bell").disabled = false;
  document.title = `${state.me.name} · edge-realtime`;
  showMode();
  for (const c of ids) state.convs.set(c, newConversation(c));
  renderTabs();
  select(ids[0]);
  const [sinces, inboxSince] = await Promise.all([
    Promise.all(ids.map((c) => loadHistory(state.convs.get(c)))),
    loadNotifications(),
  ]);
  if (state.mode === "session") {
    // One socket: the notifications and every conversation.
    const session = new RealtimeSession({ url: WS_BASE, getToken, since: inboxSince });
    state.session = session;
    ids.forEach((c, i) => startChat(state.convs.get(c), session.join(c, { since: sinces[i] })));
    startInbox(session);
  } else {
    ids.forEach((c, i) => {
      const path = `/ws/chat/${encodeURIComponent(c)}/`;
      startChat(state.convs.get(c), new RealtimeClient({ url: WS_BASE, path, getToken, since: sinces[i] }));
    });
    startInbox(new RealtimeClient({ url: WS_BASE, path: "/ws/notifications/", getToken, since: inboxSince }));
  }
  if (org) startEvents();
}

/** The header says which mode the page is in and links to the same sign-in in the other. */
function showMode() {
  const other = state.mode === "session" ? "rooms" : "session";
  const q = new URLSearchParams({ user: state.me.id, name: state.me.name, conversation: state.conversations.join(",") });
  if (state.org) q.set("org", state.org);
  q.set("mode", other);
  $("#mode").hidden = false;
  $("#mode").dataset.mode = state.mode;
  $("#mode-name").textContent = MODES[state.mode];
  $("#mode-switch").textContent = `switch to ${MODES[other]}`;
  $("#mode-switch").href = `?${q}`;
  document.body.dataset.mode = state.mode;
}

function watchState(client, stream) {
  const badge = document.querySelector(`.conn[data-stream="${stream}"]`);
  client.on("state", ({ state: s, code }) => showConnState(badge, s, code));
}

function showConnState(badge, s, code) {
  badge.dataset.state = s;
  badge.querySelector("b").textContent = code && s !== "open" ? `${s} (${code})` : s;
}

// ---- conversations (tabs) ------------------------------------------------------------------

function renderTabs() {
  const nav = $("#conversation-tabs");
  nav.hidden = state.conversations.length < 2;
  nav.replaceChildren(
    ...state.conversations.map((id) => {
      const c = state.convs.get(id);
      c.tab = h("button", { type: "button", class: "tab", role: "tab", dataset: { conversation: id }, onclick: () => select(id) });
      renderTab(c);
      return c.tab;
    }),
  );
}

function renderTab(c) {
  if (!c.tab) return;
  c.tab.dataset.state = c.state;
  c.tab.dataset.unread = String(c.unread);
  c.tab.setAttribute("aria-selected", String(c.id === state.active));
  c.tab.replaceChildren(`#${c.id}`, ...(c.unread ? [h("span", { class: "unread" }, String(c.unread))] : []));
}

/** Shows conversation `id`: its messages, presence, typing and connection state. */
function select(id) {
  const prev = current();
  if (prev && prev.id !== id) stopTyping();
  cancelReply();
  state.active = id;
  const c = current();
  c.unread = 0;
  $("#conversation-name").textContent = id;
  $("#messages").replaceChildren(...[...c.messages.values()].map((m) => m.el));
  scrollDown();
  renderPresence();
  renderTyping();
  showChatState(c);
  for (const other of state.convs.values()) renderTab(other);
  if (c.lastReceipt) scheduleReceipt(c, c.lastReceipt);
}

function showChatState(c) {
  showConnState(document.querySelector('.conn[data-stream="chat"]'), c.state, c.code);
  document.body.classList.toggle("offline", c.state !== "open");
}

// ---- chat ------------------------------------------------------------------------------

async function loadHistory(c) {
  const page = await api(`/api/conversations/${encodeURIComponent(c.id)}/messages?limit=50`);
  for (const m of c.messages.values()) m.el.remove();
  c.messages.clear();
  for (const m of page.messages) upsertMessage(c, m);
  return page.last_seq;
}

/** Wires one conversation: the same API for a session's handle and a single-room client. */
function startChat(c, chat) {
  c.chat = chat;
  chat.on("state", ({ state: s, code }) => {
    c.state = s;
    c.code = code ?? null;
    renderTab(c);
    if (c.id === state.active) showChatState(c);
  });
  // Who is online: in `joined` on a session, in `connection.established` on a room socket.
  chat.on(state.mode === "session" ? "joined" : "connection.established", (f) => {
    c.presence.clear();
    for (const p of f.presence ?? []) c.presence.set(p.user_id, p.user_name);
    if (c.id === state.active) renderPresence();
  });
  chat.on("resync_required", async () => {
    await loadHistory(c);
  });
  chat.on("chat_message", (f) => {
    upsertMessage(c, f.message);
    clearTyping(c, f.message.sender.id);
    if (f.message.sender.id === state.me.id) return;
    if (c.id === state.active) scheduleReceipt(c, f.message.id);
    else {
      c.lastReceipt = f.message.id;
      c.unread += 1;
      renderTab(c);
    }
  });
  chat.on("message_edit", (f) => {
    const m = c.messages.get(f.message_id);
    if (m) upsertMessage(c, { ...m.view, content: f.content, is_edited: true });
  });
  chat.on("message_delete", (f) => {
    const m = c.messages.get(f.message_id);
    if (m) upsertMessage(c, { ...m.view, content: null, is_deleted: true });
  });
  chat.on("message_reaction", (f) => {
    const m = c.messages.get(f.message_id);
    if (!m) return;
    const users = m.reactions.get(f.emoji) ?? new Set();
    if (f.action === "added") users.add(f.user_id);
    else users.delete(f.user_id);
    if (users.size) m.reactions.set(f.emoji, users);
    else m.reactions.delete(f.emoji);
    renderMessage(m);
  });
  chat.on("read_receipt", (f) => {
    const m = c.messages.get(f.message_id);
    if (!m || f.user_id === m.view.sender.id) return;
    m.seenBy.add(f.user_id);
    renderMessage(m);
  });
  chat.on("typing_indicator", (f) => (f.is_typing ? showTyping(c, f) : clearTyping(c, f.user_id)));
  chat.on("user_status", (f) => {
    if (f.status === "online") c.presence.set(f.user_id, c.presence.get(f.user_id) ?? (f.user_name || f.username || f.user_id));
    else {
      c.presence.delete(f.user_id);
      clearTyping(c, f.user_id);
    }
    if (c.id === state.active) renderPresence();
  });
  chat.on("left", (f) => f.reason === "removed" && toast(`You were removed from #${c.id}`, "error"));
  chat.on("error", (f) => f.message && toast(`Error: ${f.message}`, "error"));
}

function upsertMessage(c, view) {
  let m = c.messages.get(view.id);
  if (!m) {
    m = { conv: c, view, reactions: new Map(), seenBy: new Set(), el: h("li", { class: "message" }) };
    c.messages.set(view.id, m);
    if (c.id === state.active) $("#messages").append(m.el);
  } else {
    m.view = view;
  }
  renderMessage(m);
  if (c.id === state.active) scrollDown();
}

function scrollDown() {
  const list = $("#messages");
  list.scrollTop = list.scrollHeight;
}

function renderMessage(m) {
  const v = m.view;
  const c = m.conv;
  const mine = v.sender.id === state.me.id;
  const el = m.el;
  el.className = `message${mine ? " mine" : ""}${v.is_deleted ? " deleted" : ""}`;
  el.dataset.id = v.id;
  el.dataset.seq = v.seq;
  el.dataset.sender = v.sender.id;
  el.dataset.conversation = c.id;
  const parent = v.parent_message_id ? c.messages.get(v.parent_message_id) : null;
  const actions = v.is_deleted
    ? null
    : h(
        "span",
        { class: "actions" },
        h("button", { type: "button", class: "reply", onclick: () => startReply(v) }, "Reply"),
        ...REACTIONS.map((e) =>
          h("button", { type: "button", class: "react", title: `React ${e}`, onclick: () => react(c, v.id, e) }, e),
        ),
        mine ? h("button", { type: "button", class: "edit", onclick: () => startEdit(m) }, "Edit") : null,
        mine ? h("button", { type: "button", class: "delete", onclick: () => removeMessage(c, v.id) }, "Delete") : null,
      );
  const parts = [
    parent || v.parent_message_id
      ? h("div", { class: "reply-to" }, "↪ ", parent ? snippet(parent.view) : "an earlier message")
      : null,
    h(
      "div",
      { class: "meta" },
      h("span", { class: "sender" }, v.sender.name || v.sender.username || v.sender.id),
      h("time", { datetime: v.created_at }, new Date(v.created_at).toLocaleTimeString()),
      v.is_edited && !v.is_deleted ? h("span", { class: "edited" }, "(edited)") : null,
    ),
    h("div", { class: "content" }, v.is_deleted ? "message deleted" : v.content ?? ""),
    m.reactions.size && !v.is_deleted
      ? h(
          "div",
          { class: "reactions" },
          ...[...m.reactions].map(([emoji, users]) =>
            h(
              "button",
              {
                type: "button",
                class: `chip${users.has(state.me.id) ? " own" : ""}`,
                dataset: { emoji },
                title: [...users].join(", "),
                onclick: () => react(c, v.id, emoji),
              },
              `${emoji} ${users.size}`,
            ),
          ),
        )
      : null,
    mine && m.seenBy.size ? h("div", { class: "seen" }, `Seen by ${[...m.seenBy].join(", ")}`) : null,
    actions,
  ];
  el.replaceChildren(...parts.filter(Boolean));
}

const snippet = (v) => (v.is_deleted ? "a deleted message" : `${v.sender.name || v.sender.id}: ${(v.content ?? "").slice(0, 60)}`);

function startReply(v) {
  state.replyTo = v.id;
  $("#reply-snippet").textContent = snippet(v);
  $("#reply-banner").hidden = false;
  $("#message-input").focus();
}

function cancelReply() {
  state.replyTo = null;
  $("#reply-banner").hidden = true;
}

function startEdit(m) {
  const content = m.el.querySelector(".content");
  const input = h("input", { class: "edit-input", value: m.view.content ?? "", maxlength: 4000 });
  const done = () => renderMessage(m);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") done();
    if (e.key === "Enter") {
      e.preventDefault();
      const text = input.value.trim();
      if (text && text !== m.view.content) m.conv.chat.edit(m.view.id, text).catch(fail);
      done();
    }
  });
  content.replaceChildren(input);
  input.focus();
}

const react = (c, id, emoji) => c.chat.react(id, emoji).catch(fail);
const removeMessage = (c, id) => c.chat.remove(id).catch(fail);
const fail = (e) => toast(e.message, "error");

/** One read receipt for the newest message from someone else, while it is shown. */
function scheduleReceipt(c, id) {
  c.lastReceipt = id;
  if (document.visibilityState !== "visible" || c.id !== state.active || !c.chat) return;
  clearTimeout(c.receiptTimer);
  c.receiptTimer = setTimeout(() => {
    const target = c.lastReceipt;
    c.lastReceipt = null;
    if (target) c.chat.readReceipt(target).catch(() => {});
  }, 300);
}

document.addEventListener("visibilitychange", () => {
  const c = current();
  if (document.visibilityState === "visible" && c?.lastReceipt) scheduleReceipt(c, c.lastReceipt);
});

// ---- typing and presence -----------------------------------------------------------------

let typingSentAt = 0;
let typingStop = null;
let typingIn = null; // the conversation told we are typing

function onInput() {
  const c = current();
  if (!c?.chat) return;
  const now = Date.now();
  if ($("#message-input").value === "") return stopTyping();
  if (now - typingSentAt > 2000) {
    typingSentAt = now;
    typingIn = c;
    c.chat.typing(true).catch(() => {});
  }
  clearTimeout(typingStop);
  typingStop = setTimeout(stopTyping, 3000);
}

function stopTyping() {
  clearTimeout(typingStop);
  if (typingSentAt && typingIn) {
    typingSentAt = 0;
    typingIn.chat.typing(false).catch(() => {});
  }
}

function showTyping(c, f) {
  const prev = c.typing.get(f.user_id);
  clearTimeout(prev?.timer);
  // A lost "stopped typing" frame must not leave the indicator up forever.
  const timer = setTimeout(() => clearTyping(c, f.user_id), 6000);
  c.typing.set(f.user_id, { name: f.user_name || f.user_id, timer });
  if (c.id === state.active) renderTyping();
}

function clearTyping(c, userId) {
  const t = c.typing.get(userId);
  if (!t) return;
  clearTimeout(t.timer);
  c.typing.delete(userId);
  if (c.id === state.active) renderTyping();
}

function renderTyping() {
  const names = [...(current()?.typing.values() ?? [])].map((t) => t.name);
  $("#typing").textContent = names.length
    ? `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`
    : "";
}

function renderPresence() {
  $("#presence").replaceChildren(
    ...[...(current()?.presence ?? [])]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, name]) =>
        h("li", { class: `online${id === state.me.id ? " me" : ""}`, dataset: { userId: id } }, name),
      ),
  );
}

// ---- notifications ---------------------------------------------------------------------

/** The notifications shown before the socket opens; returns the inbox's resume point. */
async function loadNotifications() {
  const list = await api(`/api/users/${encodeURIComponent(state.me.id)}/notifications?limit=20`).catch(() => null);
  for (const n of (list?.notifications ?? []).reverse()) addNotification(n);
  setBadge(list?.unread_count ?? 0);
  return list?.last_seq ?? null;
}

/** Wires notifications: the session itself, or a client on /ws/notifications/. */
function startInbox(inbox) {
  state.inbox = inbox;
  watchState(inbox, "inbox");
  inbox.on("connection.established", (f) => setBadge(f.unread_count ?? 0));
  inbox.on("unread_count", (f) => setBadge(f.count));
  inbox.on("notification", (f) => {
    addNotification(f.notification);
    toast(f.notification.title || f.notification.body || f.notification.message || "New notification");
  });
  inbox.on("notification_read", (f) => {
    // `mark_all_read` is one marker (`all`, `up_to_seq`): frames arrive in seq order, so every
    // notification shown so far is covered by it.
    const ids = f.all ? [...state.notifications.keys()] : f.notification_ids;
    for (const id of ids) {
      const n = state.notifications.get(id);
      if (n) {
        n.read = true;
        n.el.classList.add("read");
        n.el.querySelector(".mark-read")?.remove();
      }
    }
  });
}

function addNotification(n) {
  if (state.notifications.has(n.id)) return;
  const el = h(
    "li",
    { class: `notification${n.read ? " read" : ""}`, dataset: { id: n.id } },
    h("strong", {}, n.title ?? n.notification_type ?? "notification"),
    " ",
    h("span", {}, n.body ?? n.message ?? ""),
    n.read
      ? null
      : h(
          "button",
          { type: "button", class: "mark-read", onclick: () => state.inbox.markRead(n.id).catch(fail) },
          "Mark read",
        ),
  );
  state.notifications.set(n.id, { ...n, el });
  $("#notifications").prepend(el);
}

function setBadge(count) {
  const badge = $("#badge");
  badge.textContent = String(count);
  badge.hidden = !count;
  $("#bell").dataset.unread = String(count);
}

function toast(text, kind = "info") {
  const el = h("div", { class: `toast ${kind}`, role: "status" }, text);
  $("#toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

// ---- org events --------------------------------------------------------------------------

function startEvents() {
  const events = new RealtimeClient({
    url: WS_BASE,
    path: `/ws/events/${encodeURIComponent(state.org)}/`,
    getToken,
  });
  state.events = events;
  watchState(events, "events");
  events.on("event", (f) => {
    $("#events").prepend(
      h(
        "li",
        { class: "event", dataset: { seq: f.seq, type: f.event_type } },
        h("strong", {}, f.event_type),
        " ",
        h("code", {}, JSON.stringify(f.data)),
      ),
    );
  });
}

// ---- webhook log ------------------------------------------------------------------------
// What the Worker's webhooks delivered, as seen by the local receiver that `WEBHOOKS=1 make
// dev` starts (scripts/webhook-receiver.mjs): GET /events is polled every 2 s. Another
// receiver: ?webhooks=<its /events URL>. No answer: a one-line hint instead of the list.

const WEBHOOK_EVENTS_URL = new URLSearchParams(location.search).get("webhooks") ?? "http://127.0.0.1:8788/events";
const webhooksShown = new Set(); // webhook-ids already listed

/** One line about an event's data (the full data is the row's tooltip). */
function webhookSummary(type, d = {}) {
  const clip = (t, n = 60) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  switch (type) {
    case "message.created":
      return `#${d.conversation_id} ${d.sender?.name ?? d.sender?.id ?? "?"}: ${clip(String(d.content ?? ""))}`;
    case "user.online":
    case "user.offline":
      return d.user_id;
    case "conversation.occupied":
      return `#${d.conversation_id}${d.users ? ` (${d.users.length} online)` : ""}`;
    case "conversation.vacated":
      return `#${d.conversation_id}`;
    case "notification.created":
    case "notification.undelivered":
      return `${d.user_id}: ${clip(String(d.notification?.title ?? d.notification?.id ?? ""))}`;
    case "notification.read":
      return `${d.user_id}: ${d.notification_ids?.length ?? 0} read`;
    default:
      return clip(JSON.stringify(d));
  }
}

async function pollWebhooks() {
  let list = null;
  try {
    const resp = await fetch(WEBHOOK_EVENTS_URL, { cache: "no-store" });
    if (resp.ok) list = await resp.json();
  } catch {
    /* no receiver */
  }
  $("#webhook-hint").hidden = Array.isArray(list);
  $("#webhooks").hidden = !Array.isArray(list);
  for (const e of Array.isArray(list) ? list : []) {
    if (webhooksShown.has(e.id)) continue;
    webhooksShown.add(e.id);
    const when = new Date(e.timestamp);
    // Newest first, like the org events.
    $("#webhooks").prepend(
      h(
        "li",
        { class: "webhook", dataset: { id: e.id, type: e.type }, title: JSON.stringify(e.data) },
        h("time", { datetime: e.timestamp }, isNaN(when) ? "" : when.toLocaleTimeString()),
        h("strong", {}, e.type),
        " ",
        h("span", { class: "summary" }, webhookSummary(e.type, e.data ?? {})),
      ),
    );
  }
  setTimeout(pollWebhooks, 2000);
}
pollWebhooks();

// ---- wiring ------------------------------------------------------------------------------

$("#sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  $("#sign-in-error").textContent = "";
  const field = (sel) => $(sel).value.trim();
  signIn(field("#user-id"), field("#user-name"), field("#conversation"), field("#org"), $("#mode-select").value).catch(
    (err) => {
      $("#sign-in").hidden = false;
      $("#app").hidden = true;
      $("#sign-in-error").textContent = err.message;
    },
  );
});

$("#composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("#message-input");
  const text = input.value.trim();
  if (!text) return;
  const parentMessageId = state.replyTo;
  input.value = "";
  cancelReply();
  stopTyping();
  const chat = current()?.chat;
  if (chat) chat.sendMessage(text, { parentMessageId }).catch(fail);
});
$("#message-input").addEventListener("input", onInput);
$("#reply-cancel").addEventListener("click", cancelReply);
$("#bell").addEventListener("click", () => ($("#notification-panel").hidden = !$("#notification-panel").hidden));
$("#mark-all-read").addEventListener("click", () => state.inbox?.markAllRead().catch(fail));

// ?user=alice&name=Alice&conversation=general&org=acme signs in at once (handy for demos);
const params = new URLSearchParams(location.search);
// ?mode=rooms: one socket per room instead of the session.
for (const [param, field] of [["user", "#user-id"], ["name", "#user-name"], ["conversation", "#conversation"], ["org", "#org"]]) {
  if (params.has(param)) $(field).value = params.get(param);
}
if (params.get("mode") === "rooms") $("#mode-select").value = "rooms";
if (params.has("user")) $("#sign-in").requestSubmit();

// Web Push (SPEC §11): permission, the service worker, the subscription, POSTed with the JWT.
// The button shows once signed in, when the browser can push and the server has a key.
function b64urlBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function enablePush() {
  const say = (t) => ($("#push-state").textContent = t);
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return say(permission === "denied" ? "notifications blocked in this browser" : "not enabled");
  const key = await fetch("/api/push/vapid-public-key").then((r) => (r.ok ? r.json() : null));
  if (!key) return say("push is not configured on the server");
  const reg = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  const sub = (await reg.pushManager.getSubscription())
    ?? (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlBytes(key.public_key) }));
  const resp = await fetch("/api/push/subscriptions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${await getToken()}` },
    body: JSON.stringify(sub.toJSON()),
  });
  say(resp.ok ? "browser notifications on" : `subscription refused (${resp.status})`);
}

async function offerPush() {
  if (!("serviceWorker" in navigator && "PushManager" in window && "Notification" in window)) return;
  const key = await fetch("/api/push/vapid-public-key").catch(() => null);
  if (key?.ok) $("#enable-push").hidden = false;
}

$("#enable-push").addEventListener("click", () => enablePush().catch((e) => ($("#push-state").textContent = String(e.message || e))));
new MutationObserver(() => { if (!$("#app").hidden) offerPush(); }).observe($("#app"), { attributes: true, attributeFilter: ["hidden"] });

// For tests and the console.
window.demo = state;
