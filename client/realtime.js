// realtime.js: a small, dependency-free client for the edge-realtime WebSocket protocol.
// Works in browsers and in Node >= 22 (global WebSocket). See client/README.md.
//
//   const rt = new RealtimeClient({ url: "ws://127.0.0.1:8787", path: "/ws/chat/general/",
//                                   getToken: async () => fetchToken() });
//   rt.on("chat_message", (f) => render(f.message));
//   await rt.sendMessage("hello");

export const PING_TEXT = '{"type":"ping"}';
export const SUBPROTOCOL = "realtime.v1";

/** Close codes after which the client does not reconnect on its own. */
export const CLOSE = Object.freeze({
  UNAUTHORIZED: 4001,
  FORBIDDEN: 4003,
  BAD_REQUEST: 4400,
  TOO_MANY_SOCKETS: 4429,
  POLICY: 1008,
  TOO_BIG: 1009,
});

// ---------------------------------------------------------------------------------------
// Pure pieces (exported for tests)

/**
 * Full-jitter exponential backoff: a uniform delay in [0, min(cap, base * 2^attempt)).
 * `attempt` counts failures since the last stable connection, starting at 0.
 */
export function backoffDelay(attempt, { base = 500, cap = 30000, random = Math.random } = {}) {
  const n = Math.max(0, Math.floor(attempt));
  // 2^n overflows nothing useful past ~60; clamp before multiplying.
  const ceiling = Math.min(cap, base * 2 ** Math.min(n, 60));
  return Math.floor(random() * ceiling);
}

/** Error thrown (or rejected) when the outgoing queue is full. */
export class QueueFullError extends Error {
  constructor(limit) {
    super(`realtime: outgoing queue is full (${limit} frames waiting for a connection)`);
    this.name = "QueueFullError";
    this.code = "queue_full";
    this.limit = limit;
  }
}

/** Error for an `error` frame answering one of our requests. */
export class RealtimeError extends Error {
  constructor(frame) {
    super(frame.message || frame.code || "request failed");
    this.name = "RealtimeError";
    this.code = frame.code;
    this.frame = frame;
  }
}

/** A FIFO with a hard bound: `push` throws QueueFullError instead of growing. */
export class BoundedQueue {
  constructor(limit = 100) {
    if (!(limit > 0)) throw new RangeError("queue limit must be positive");
    this.limit = limit;
    this.items = [];
  }
  get size() {
    return this.items.length;
  }
  push(item) {
    if (this.items.length >= this.limit) throw new QueueFullError(this.limit);
    this.items.push(item);
  }
  /** Puts items back at the front (used to resend frames that were never acknowledged). */
  unshiftAll(items) {
    this.items.unshift(...items);
  }
  shift() {
    return this.items.shift();
  }
  drain() {
    const all = this.items;
    this.items = [];
    return all;
  }
}

/**
 * Remembers the last durable `seq` seen on a stream; `accept(seq)` is true only for a seq
 * beyond it (so replays and duplicates are dropped) and advances it.
 */
export class SeqTracker {
  constructor(last = null) {
    this.last = last;
  }
  accept(seq) {
    if (typeof seq !== "number") return true;
    if (this.last !== null && seq <= this.last) return false;
    this.last = seq;
    return true;
  }
  reset(last = null) {
    this.last = last;
  }
}

/**
 * The socket URL: base + path, with `since` (resume point), optionally `token`, and
 * optionally `presence` ("batch": presence changes as `presence_update` batches) in the
 * query. `url` may be http(s) (turned into ws(s)) or ws(s).
 */
export function buildUrl(url, path = "/", { since = null, token = null, presence = null } = {}) {
  const u = new URL(path, url.replace(/^http/, "ws"));
  if (since !== null && since !== undefined) u.searchParams.set("since", String(since));
  else u.searchParams.delete("since");
  if (presence) u.searchParams.set("presence", presence);
  if (token) u.searchParams.set("token", token);
  return u.toString();
}

/** The subprotocols offered: the protocol name and, unless sent in the query, the token. */
export function protocolsFor(token, tokenIn = "protocol") {
  return tokenIn === "protocol" && token ? [SUBPROTOCOL, `bearer.${token}`] : [SUBPROTOCOL];
}

let counter = 0;
/** A reasonably unique id for client_msg_id / request_id (≤ 64 chars). */
export function newId(prefix = "c") {
  const rand =
    globalThis.crypto?.randomUUID?.().replace(/-/g, "").slice(0, 16) ??
    Math.random().toString(36).slice(2, 14);
  counter = (counter + 1) % 1e9;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}${rand}`;
}

// ---------------------------------------------------------------------------------------
// The client

/**
 * One logical connection to one stream (a conversation, the user's notifications, an org).
 * Events: every server frame by its `type`, plus "message" (every frame), "state"
 * ({state, code?, reason?}), "resync_required", "resumed", "close" ({code, reason}).
 */
export class RealtimeClient {
  constructor(opts) {
    const {
      url,
      path,
      token = null,
      getToken = null,
      since = null,
      tokenIn = "protocol",
      queueLimit = 100,
      heartbeatMs = 25000,
      ackTimeoutMs = 30000,
      stableMs = 5000,
      backoff = {},
      WebSocket: WS = globalThis.WebSocket,
      autoConnect = true,
    } = opts || {};
    if (!url || !path) throw new TypeError("RealtimeClient needs {url, path}");
    if (!token && !getToken) throw new TypeError("RealtimeClient needs {token} or {getToken}");
    if (!WS) throw new TypeError("no WebSocket implementation (pass {WebSocket})");
    this.url = url;
    this.path = path;
    this.token = token;
    this.getToken = getToken;
    this.tokenIn = tokenIn;
    this.heartbeatMs = heartbeatMs;
    this.ackTimeoutMs = ackTimeoutMs;
    this.stableMs = stableMs;
    this.backoff = backoff;
    this.WS = WS;
    this.seq = new SeqTracker(since ?? null);
    this.queue = new BoundedQueue(queueLimit);
    this.pending = new Map(); // request_id -> {resolve, reject, timer, frame, text, resend}
    this.handlers = new Map();
    this.state = "idle";
    this.ws = null;
    this.attempt = 0;
    this.timers = { retry: null, heartbeat: null, stable: null };
    this.rejectedToken = null; // the token last refused with 4001
    this.lastEstablished = null;
    this._onOnline = () => this._wake("online");
    this._onOffline = () => this._dropSocket("offline");
    this._onVisible = () => {
      if (globalThis.document?.visibilityState === "visible") this._wake("visible");
    };
    if (typeof globalThis.addEventListener === "function") {
      globalThis.addEventListener("online", this._onOnline);
      globalThis.addEventListener("offline", this._onOffline);
      globalThis.document?.addEventListener?.("visibilitychange", this._onVisible);
    }
    if (autoConnect) queueMicrotask(() => this.connect());
  }

  /** The last durable seq seen (the resume point), or null. */
  get lastSeq() {
    return this.seq.last;
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.off(type, handler);
  }

  off(type, handler) {
    this.handlers.get(type)?.delete(handler);
  }

  _emit(type, payload) {
    for (const h of [...(this.handlers.get(type) ?? [])]) {
      try {
        h(payload);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  _setState(state, extra = {}) {
    if (this.state === state && !extra.code) return;
    this.state = state;
    this._emit("state", { state, ...extra });
  }

  /** Opens the connection (again, after `close()` or a stop). */
  async connect() {
    if (this.state === "connecting" || this.state === "open") return;
    this._clearTimer("retry");
    this._setState("connecting");
    let token;
    try {
      token = this.getToken ? await this.getToken() : this.token;
    } catch (e) {
      this._emit("error", e);
      return this._scheduleReconnect();
    }
    if (this.state !== "connecting") return; // closed meanwhile
    if (!token || token === this.rejectedToken) {
      this.stopCode = CLOSE.UNAUTHORIZED;
      this._setState("stopped", { code: CLOSE.UNAUTHORIZED, reason: "token refused" });
      return;
    }
    this.token = token;
    const since = this.seq.last;
    const target = buildUrl(this.url, this.path, {
      since,
      token: this.tokenIn === "query" ? token : null,
      // A burst of joins (a deploy reconnecting a full room) arrives as a few batches; the
      // client hands each entry on as the `user_status` it is (see `_receive`).
      presence: this._presenceMode,
    });
    let ws;
    try {
      ws = new this.WS(target, protocolsFor(token, this.tokenIn));
    } catch (e) {
      this._emit("error", e);
      return this._scheduleReconnect();
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.stopCode = null;
      this.rejectedToken = null;
      this._setState("open");
      this._startHeartbeat();
      this.timers.stable = setTimeout(() => (this.attempt = 0), this.stableMs);
      this._flush();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      this._receive(typeof ev.data === "string" ? ev.data : String(ev.data));
    };
    ws.onerror = () => {
      /* a close follows */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this._closed(ev.code, ev.reason);
    };
  }

  /** Replaces the token (e.g. after a 4001) and reconnects if the client had stopped. */
  setToken(token) {
    this.token = token;
    if (token !== this.rejectedToken) this.rejectedToken = null;
    if (this.state === "stopped" && this.stopCode === CLOSE.UNAUTHORIZED) this.connect();
  }

  /** Closes for good (until `connect()`); queued frames and pending requests are rejected. */
  close(code = 1000, reason = "client closed") {
    this.stopCode = code;
    this._teardown();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(code, reason);
      } catch {
        /* already closed */
      }
    }
    this._failAll(new Error("realtime: client closed"));
    this._setState("stopped", { code, reason });
  }

  /** Removes global listeners too; the client cannot be used afterwards. */
  destroy() {
    this.close();
    if (typeof globalThis.removeEventListener === "function") {
      globalThis.removeEventListener("online", this._onOnline);
      globalThis.removeEventListener("offline", this._onOffline);
      globalThis.document?.removeEventListener?.("visibilitychange", this._onVisible);
    }
  }

  // ---- sending

  /**
   * Sends a frame (object or exact text) now, or queues it until connected. Resolves once
   * handed to the socket; rejects with QueueFullError when the queue is full.
   */
  send(frame) {
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    return new Promise((resolve, reject) => this._enqueue({ text, resolve, reject }));
  }

  /** Writes `item.text` now or queues it; `item.resolve` runs when it was written. */
  _enqueue(item) {
    if (this.state === "stopped") {
      item.reject(new Error("realtime: client is stopped"));
      return;
    }
    if (this.state === "open" && this.queue.size === 0 && this._write(item.text)) {
      item.resolve();
      return;
    }
    try {
      this.queue.push(item);
    } catch (e) {
      item.reject(e);
    }
  }

  /**
   * Sends a frame with a fresh `request_id` and resolves with the matching `ack` (rejects
   * with a RealtimeError on the matching `error`, or on timeout). `resend: true` resends
   * it after a reconnect if it was never acknowledged: only for idempotent frames.
   */
  request(frame, { resend = false } = {}) {
    return this._request(frame, resend, this);
  }

  /** `request` through `via` (this client, or a session's conversation, which holds its own
   *  queue until it is joined). */
  _request(frame, resend, via) {
    const request_id = frame.request_id ?? newId("r");
    const full = { ...frame, request_id };
    const text = JSON.stringify(full);
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, text, resend, via, timer: null, sent: false };
      entry.timer = setTimeout(() => {
        this.pending.delete(request_id);
        reject(new Error(`realtime: no answer to ${frame.type} within ${this.ackTimeoutMs} ms`));
      }, this.ackTimeoutMs);
      this.pending.set(request_id, entry);
      via._enqueue({
        text,
        resolve: () => (entry.sent = true),
        reject: (e) => {
          clearTimeout(entry.timer);
          this.pending.delete(request_id);
          reject(e);
        },
      });
    });
  }

  /** A chat message; resolves with the ack `{request_id, message_id, seq}`. */
  sendMessage(content, { parentMessageId = null, clientMsgId = newId("m") } = {}) {
    const frame = { type: "chat_message", content, client_msg_id: clientMsgId };
    if (parentMessageId) frame.parent_message_id = parentMessageId;
    return this.request(frame, { resend: true });
  }
  typing(isTyping = true) {
    return this.send({ type: "typing_indicator", is_typing: !!isTyping });
  }
  readReceipt(messageId) {
    return this.request({ type: "read_receipt", message_id: messageId }, { resend: true });
  }
  react(messageId, emoji) {
    return this.request({ type: "message_reaction", message_id: messageId, emoji });
  }
  edit(messageId, content) {
    return this.request({ type: "message_edit", message_id: messageId, content });
  }
  remove(messageId) {
    return this.request({ type: "message_delete", message_id: messageId });
  }
  markRead(notificationId) {
    return this.request({ type: "mark_read", notification_id: notificationId }, { resend: true });
  }
  markAllRead() {
    return this.request({ type: "mark_all_read" }, { resend: true });
  }

  // ---- internals

  _write(text) {
    try {
      this.ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  _flush() {
    while (this.state === "open" && this.queue.size > 0) {
      const item = this.queue.shift();
      if (!this._write(item.text)) {
        this.queue.unshiftAll([item]);
        return;
      }
      item.resolve();
    }
  }

  /** Room and org sockets take presence batches; a session's presence comes per conversation. */
  get _presenceMode() {
    return "batch";
  }

  _receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "presence_update" && Array.isArray(frame.users)) {
      for (const status of frame.users) if (status && status.type === "user_status") this._frame(status);
      return;
    }
    this._frame(frame);
  }

  /** Settles the request an `ack` or `error` answers; true when there was one. */
  _settle(frame) {
    const entry = frame.request_id ? this.pending.get(frame.request_id) : null;
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.pending.delete(frame.request_id);
    if (frame.type === "ack") entry.resolve(frame);
    else entry.reject(new RealtimeError(frame));
    return true;
  }

  /** One parsed server frame of this stream: seq bookkeeping, then the listeners. */
  _frame(frame) {
    const type = frame.type;
    if (type === "ack" || type === "error") {
      this._settle(frame);
    } else if (type === "connection.established") {
      this.lastEstablished = frame;
      // A fresh connection (no resume point) starts from the stream's current seq.
      if (this.seq.last === null && typeof frame.last_seq === "number") {
        this.seq.reset(frame.last_seq);
      }
    } else if (type === "resync_required") {
      // Missed too much (or our seq is from another life of the stream): the app reloads
      // history; live events continue from the stream's current seq.
      this.seq.reset(frame.last_seq ?? null);
    } else if (typeof frame.seq === "number" && !this.seq.accept(frame.seq)) {
      return; // duplicate or already-seen replay
    }
    this._emit("message", frame);
    this._emit(type, frame);
  }

  _startHeartbeat() {
    this._clearTimer("heartbeat");
    this.lastFrameAt = Date.now();
    if (!(this.heartbeatMs > 0)) return;
    this.timers.heartbeat = setInterval(() => {
      if (this.state !== "open") return;
      // Two intervals without a single frame (not even a pong): the link is dead.
      if (Date.now() - this.lastFrameAt > this.heartbeatMs * 2 + 5000) {
        this._dropSocket("heartbeat timeout");
        return;
      }
      this._write(PING_TEXT);
    }, this.heartbeatMs);
  }

  _clearTimer(name) {
    const t = this.timers[name];
    if (t !== null) {
      clearTimeout(t);
      clearInterval(t);
      this.timers[name] = null;
    }
  }

  _teardown() {
    for (const name of Object.keys(this.timers)) this._clearTimer(name);
  }

  /** Forgets the current socket (the network is gone) and schedules a reconnect. */
  _dropSocket(reason) {
    if (!this.ws || this.state === "stopped") return;
    const ws = this.ws;
    this.ws = null;
    try {
      ws.close(4000, reason);
    } catch {
      /* ignore */
    }
    this._closed(1006, reason);
  }

  _closed(code, reason) {
    this.ws = null;
    this._clearTimer("heartbeat");
    this._clearTimer("stable");
    this._emit("close", { code, reason });
    // Requests in flight: idempotent ones are resent after reconnecting, others fail now.
    // Each goes back to the front of the queue it came through (a session's conversation
    // holds its own until it is joined again).
    const resend = new Map(); // via -> items
    for (const [id, entry] of this.pending) {
      if (!entry.sent) continue; // still in the queue: goes out on reconnect
      if (entry.resend) {
        entry.sent = false;
        const via = entry.via ?? this;
        if (!resend.has(via)) resend.set(via, []);
        resend.get(via).push({ text: entry.text, resolve: () => (entry.sent = true), reject: () => {} });
        // (a failure later rejects the request itself through _failAll or its timeout)
      } else {
        clearTimeout(entry.timer);
        this.pending.delete(id);
        entry.reject(new Error(`realtime: connection lost before the answer (code ${code})`));
      }
    }
    for (const [via, items] of resend) via.queue.unshiftAll(items);
    this._lost(code, reason);
    if (code === CLOSE.FORBIDDEN || code === CLOSE.BAD_REQUEST) {
      this.stopCode = code;
      this._failAll(new Error(`realtime: stopped by the server (code ${code})`));
      this._setState("stopped", { code, reason });
      return;
    }
    if (code === CLOSE.UNAUTHORIZED) {
      this.rejectedToken = this.token;
      this.stopCode = code;
      if (!this.getToken) {
        this._setState("stopped", { code, reason });
        return;
      }
      // getToken may give a new token: try once more (connect() stops if it is the same).
    }
    this._setState("closed", { code, reason });
    this._scheduleReconnect();
  }

  /** The socket is gone (before the state changes); sessions mark their conversations. */
  _lost() {}

  _scheduleReconnect() {
    if (this.state === "stopped") return;
    if (this.state !== "closed") this._setState("closed");
    this._clearTimer("retry");
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.timers.retry = setTimeout(() => {
      this.timers.retry = null;
      this.connect();
    }, delay);
  }

  /** The network came back or the tab became visible: retry now instead of waiting. */
  _wake() {
    if (this.state !== "closed") return;
    this._clearTimer("retry");
    this.connect();
  }

  _failAll(err) {
    for (const item of this.queue.drain()) item.reject(err);
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      this.pending.delete(id);
      entry.reject(err);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Session mode (SPEC §9): one socket per device

/** Frames of the user's inbox: a session carries them with no `conversation_id`. */
const INBOX_TYPES = new Set(["notification", "unread_count", "notification_read"]);

/**
 * One socket (`/ws/chat/`) that carries the user's notifications (like a client on
 * `/ws/notifications/`: `markRead`, `markAllRead`, `notification`, `unread_count`, …) and
 * any number of conversations: `join(id)` returns a {@link Conversation} with the API of a
 * single-room client. After a reconnect every joined conversation is joined again with its
 * own `since`. The session itself emits the inbox's frames by type, "message" for every
 * frame, "state" and "close"; conversation frames go to their conversation.
 */
export class RealtimeSession extends RealtimeClient {
  constructor(opts) {
    const { autoConnect = true, ...rest } = opts || {};
    super({ path: "/ws/chat/", ...rest, autoConnect: false });
    this.queueLimit = rest.queueLimit ?? 100;
    /** conversation_id -> Conversation, for every conversation joined (or being joined). */
    this.conversations = new Map();
    this.established = false; // connection.established seen on the current socket
    // Conversations left while their join was still unanswered: leave_conversation goes out
    // once `joined` arrives (sent at once, the server may take it before the join).
    this.leaveAfterJoin = new Set();
    if (autoConnect) queueMicrotask(() => this.connect());
  }

  /**
   * Joins a conversation (now, or once connected) and returns its handle; the same handle
   * while it stays joined. `since`: replay its durable events after that seq.
   */
  join(conversationId, { since = null } = {}) {
    const id = String(conversationId);
    const existing = this.conversations.get(id);
    if (existing) return existing;
    this.leaveAfterJoin.delete(id); // the join in flight now serves this handle
    const conv = new Conversation(this, id, since);
    this.conversations.set(id, conv);
    if (this.established) conv._join();
    return conv;
  }

  /** Leaves a conversation (see Conversation#leave). */
  leave(conversationId) {
    const conv = this.conversations.get(String(conversationId));
    return conv ? conv.leave() : Promise.resolve();
  }

  get _presenceMode() {
    return null;
  }

  _frame(frame) {
    const conv = typeof frame.conversation_id === "string" && !INBOX_TYPES.has(frame.type)
      ? frame.conversation_id
      : null;
    if (conv === null) {
      if (frame.type === "connection.established") {
        super._frame(frame);
        this.established = true;
        for (const c of this.conversations.values()) c._join();
        return;
      }
      return super._frame(frame);
    }
    // A conversation's frame: its request first (requests are the session's), then the
    // conversation's own bookkeeping and listeners, then the session's "message".
    const answered = (frame.type === "ack" || frame.type === "error") && this._settle(frame);
    if (this.leaveAfterJoin.has(conv) && (frame.type === "joined" || frame.type === "error")) {
      this.leaveAfterJoin.delete(conv);
      if (frame.type === "joined") this.send({ type: "leave_conversation", conversation_id: conv }).catch(() => {});
    }
    const handle = this.conversations.get(conv);
    if (!handle || handle._frame(frame, answered)) this._emit("message", frame);
  }

  _lost() {
    this.established = false;
    for (const c of this.conversations.values()) c.ready = false;
  }

  _setState(state, extra = {}) {
    super._setState(state, extra);
    if (state === "open") return; // a conversation is open once joined
    this.established = false;
    this.leaveAfterJoin.clear(); // a new socket has joined nothing
    for (const c of this.conversations.values()) {
      c.ready = false;
      c._setState(state, extra);
    }
  }

  _failAll(err) {
    super._failAll(err);
    for (const c of this.conversations.values()) for (const item of c.queue.drain()) item.reject(err);
  }
}

/**
 * One conversation on a {@link RealtimeSession}: the API of a single-room RealtimeClient
 * (`sendMessage`, `typing`, `readReceipt`, `react`, `edit`, `remove`, `send`, `request`,
 * `on`/`off`, `lastSeq`, `state`) over the session's socket. Every frame it sends carries
 * its `conversation_id`; frames wait in its own queue until the conversation is joined on
 * the current socket. Its durable events are deduplicated by its own `seq`.
 * Events: the conversation's frames by type (chat_message, typing_indicator, read_receipt,
 * message_reaction, message_edit, message_delete, user_status, ack, error, resumed,
 * resync_required, joined, left), "message" (every one) and "state" (connecting → open once
 * joined; closed while the socket is down; stopped after `leave()`, a removal or a refusal).
 */
export class Conversation {
  constructor(session, conversationId, since = null) {
    this.session = session;
    this.conversationId = conversationId;
    this.seq = new SeqTracker(since ?? null);
    this.queue = new BoundedQueue(session.queueLimit);
    this.handlers = new Map();
    this.state = session.state === "stopped" ? "stopped" : session.state === "idle" ? "idle" : "connecting";
    this.ready = false; // joined on the current socket: frames go straight out
    this.active = true; // false once left, removed or refused: never joined again
    this.joinRequestId = null;
    this.lastJoined = null; // the last `joined` frame
    this.leftReason = null;
    this.attempt = 0;
    this.retryTimer = null;
  }

  /** The last durable seq seen in this conversation (its `since` for the next join). */
  get lastSeq() {
    return this.seq.last;
  }
  /** Who is online in it, as of the last `joined` (then follow `user_status`). */
  get presence() {
    return this.lastJoined?.presence ?? [];
  }

  on(type, handler) {
    return RealtimeClient.prototype.on.call(this, type, handler);
  }
  off(type, handler) {
    RealtimeClient.prototype.off.call(this, type, handler);
  }
  _emit(type, payload) {
    RealtimeClient.prototype._emit.call(this, type, payload);
  }
  _setState(state, extra = {}) {
    if (!this.active && state !== "stopped") return;
    if (this.state === state && !extra.code) return;
    this.state = state;
    this._emit("state", { state, ...extra });
  }

  // ---- sending (the single-room client's API)

  send(frame) {
    return new Promise((resolve, reject) => {
      const full = typeof frame === "string" ? JSON.parse(frame) : frame;
      const text = JSON.stringify({ ...full, conversation_id: this.conversationId });
      this._enqueue({ text, resolve, reject });
    });
  }
  request(frame, { resend = false } = {}) {
    return this.session._request({ ...frame, conversation_id: this.conversationId }, resend, this);
  }
  sendMessage(content, opts) {
    return RealtimeClient.prototype.sendMessage.call(this, content, opts);
  }
  typing(isTyping = true) {
    return RealtimeClient.prototype.typing.call(this, isTyping);
  }
  readReceipt(messageId) {
    return RealtimeClient.prototype.readReceipt.call(this, messageId);
  }
  react(messageId, emoji) {
    return RealtimeClient.prototype.react.call(this, messageId, emoji);
  }
  edit(messageId, content) {
    return RealtimeClient.prototype.edit.call(this, messageId, content);
  }
  remove(messageId) {
    return RealtimeClient.prototype.remove.call(this, messageId);
  }

  /**
   * Leaves the conversation: `leave_conversation` goes out if the socket is open, the
   * handle stops (its queued frames and requests are rejected) and is never joined again.
   */
  leave() {
    if (!this.active) return Promise.resolve();
    const { ready } = this;
    const joining = !ready && this.session.established && this.joinRequestId !== null;
    this._stop("left", new Error("realtime: conversation left"));
    if (joining) this.session.leaveAfterJoin.add(this.conversationId);
    if (!ready) return Promise.resolve();
    return this.session.send({ type: "leave_conversation", conversation_id: this.conversationId }).catch(() => {});
  }

  /** Writes now when joined on an open socket, else waits in this conversation's queue. */
  _enqueue(item) {
    if (!this.active || this.session.state === "stopped") {
      item.reject(new Error(`realtime: conversation ${this.active ? "client is stopped" : "left"}`));
      return;
    }
    if (this.ready && this.queue.size === 0) return this.session._enqueue(item);
    try {
      this.queue.push(item);
    } catch (e) {
      item.reject(e);
    }
  }

  _flush() {
    while (this.ready && this.queue.size > 0) this.session._enqueue(this.queue.shift());
  }

  /** Sends `join_conversation` with this conversation's resume point. */
  _join() {
    if (!this.active) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.ready = false;
    this._setState("connecting");
    this.joinRequestId = newId("j");
    const frame = { type: "join_conversation", conversation_id: this.conversationId, request_id: this.joinRequestId };
    if (this.seq.last !== null) frame.since = this.seq.last;
    this.session.send(frame).catch(() => {});
  }

  /** No longer followed: out of the session, queued frames and requests rejected. */
  _stop(reason, err, extra = {}) {
    this.active = false;
    this.ready = false;
    this.leftReason = reason;
    clearTimeout(this.retryTimer);
    if (this.session.conversations.get(this.conversationId) === this) {
      this.session.conversations.delete(this.conversationId);
    }
    for (const item of this.queue.drain()) item.reject(err);
    for (const [id, entry] of this.session.pending) {
      if (entry.via !== this) continue;
      clearTimeout(entry.timer);
      this.session.pending.delete(id);
      entry.reject(err);
    }
    this._setState("stopped", { reason, ...extra });
  }

  /**
   * One frame of this conversation (`answered`: it settled one of our requests). Returns
   * false when the frame is dropped (a duplicate seq).
   */
  _frame(frame, answered = false) {
    const type = frame.type;
    if (type === "joined") {
      this.lastJoined = frame;
      this.attempt = 0;
      // Joined without a resume point: live events start after the conversation's seq now.
      if (this.seq.last === null && typeof frame.last_seq === "number") this.seq.reset(frame.last_seq);
      this.ready = true;
      this._setState("open");
    } else if (type === "ack" || type === "error") {
      if (type === "error" && !answered && this._joinRefused(frame)) return true;
    } else if (type === "resync_required") {
      // Missed too much: the app reloads this conversation's history; live events go on
      // from its current seq.
      this.seq.reset(frame.last_seq ?? null);
    } else if (type === "left") {
      // Without a reason it answers a leave_conversation, and a handle that sent one is
      // gone already (a new handle for the same id must not take it as its own).
      if (!frame.reason) return true;
      this._emit("message", frame);
      this._emit("left", frame);
      const err = new Error(`realtime: left conversation ${this.conversationId} (${frame.reason})`);
      this._stop(frame.reason, err, frame.reason === "removed" ? { code: CLOSE.FORBIDDEN } : {});
      return true;
    } else if (typeof frame.seq === "number" && !this.seq.accept(frame.seq)) {
      return false; // duplicate or already-seen replay
    }
    this._emit("message", frame);
    this._emit(type, frame);
    if (type === "joined") this._flush();
    return true;
  }

  /** An `error` answering our `join_conversation`: stop (forbidden, over the limit) or retry. */
  _joinRefused(frame) {
    if (this.ready || !frame.request_id || frame.request_id !== this.joinRequestId) return false;
    this._emit("message", frame);
    this._emit("error", frame);
    if (frame.code === "unavailable" || frame.code === "rate_limited") {
      // The room did not answer: try again with backoff (the socket stays open).
      const delay = backoffDelay(this.attempt++, this.session.backoff);
      this.retryTimer = setTimeout(() => this.session.established && this._join(), delay);
      return true;
    }
    this._stop("refused", new RealtimeError(frame), {
      code: frame.code === "forbidden" ? CLOSE.FORBIDDEN : CLOSE.BAD_REQUEST,
    });
    return true;
  }
}

export default RealtimeClient;
