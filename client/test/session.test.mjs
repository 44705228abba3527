// RealtimeSession (SPEC §9: one socket per device) against the scripted fake WebSocket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RealtimeSession, RealtimeError } from "../realtime.js";
import { FakeSocket } from "./fake-socket.mjs";

const tick = () => new Promise((r) => setTimeout(r, 0));
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const last = () => FakeSocket.all[FakeSocket.all.length - 1];
const ofType = (ws, type) => ws.frames().filter((f) => f.type === type);

function session(extra = {}) {
  FakeSocket.all = [];
  return new RealtimeSession({
    url: "ws://test",
    token: "jwt1",
    WebSocket: FakeSocket,
    heartbeatMs: 0,
    backoff: { base: 1, cap: 2 },
    ...extra,
  });
}

/** Opens the newest socket and greets it like the inbox does. */
function greet(ws, lastSeq = 0) {
  if (ws.readyState !== 1) ws.open();
  ws.push({ type: "connection.established", user_id: "u", user_name: "U", last_seq: lastSeq, unread_count: 0, conversations: [] });
}

/** Answers the newest join_conversation of `conv` on `ws`. */
function joined(ws, conv, lastSeq, presence = []) {
  const join = ofType(ws, "join_conversation").filter((f) => f.conversation_id === conv).at(-1);
  assert.ok(join, `no join_conversation for ${conv}`);
  ws.push({ type: "joined", conversation_id: conv, last_seq: lastSeq, presence });
  return join;
}

test("one socket on /ws/chat/; frames wait for `joined`, carry conversation_id, and acks resolve", async () => {
  const rt = session();
  const c1 = rt.join("c1");
  const states = [];
  c1.on("state", (s) => states.push(s.state));
  const sent = c1.sendMessage("hi");
  await tick();
  const ws = last();
  assert.equal(ws.url, "ws://test/ws/chat/");
  assert.deepEqual(ws.protocols, ["realtime.v1", "bearer.jwt1"]);
  ws.open();
  assert.deepEqual(ws.frames(), [], "nothing goes out before connection.established");
  greet(ws, 3);
  const [join] = ws.frames();
  assert.equal(join.type, "join_conversation");
  assert.equal(join.conversation_id, "c1");
  assert.equal("since" in join, false);
  assert.equal(ofType(ws, "chat_message").length, 0, "the message waits for joined");
  joined(ws, "c1", 7, [{ user_id: "u", user_name: "U", devices: 1 }]);
  assert.equal(c1.lastSeq, 7);
  assert.deepEqual(c1.presence, [{ user_id: "u", user_name: "U", devices: 1 }]);
  const [msg] = ofType(ws, "chat_message");
  assert.equal(msg.conversation_id, "c1");
  assert.equal(msg.content, "hi");
  ws.push({ type: "ack", conversation_id: "c1", request_id: msg.request_id, message_id: "m8", seq: 8 });
  assert.equal((await sent).message_id, "m8");
  // Once joined, frames go straight out.
  await c1.typing(true);
  assert.deepEqual(ofType(ws, "typing_indicator").at(-1), { type: "typing_indicator", is_typing: true, conversation_id: "c1" });
  assert.deepEqual(states, ["connecting", "open"]);
  assert.equal(rt.lastSeq, 3, "the session's own seq is the inbox stream's");
  assert.equal(rt.join("c1"), c1, "joining again gives the same handle");
  rt.destroy();
});

test("frames are routed by conversation_id; inbox frames stay on the session", async () => {
  const rt = session();
  const c1 = rt.join("c1");
  const c2 = rt.join("c2");
  const got = { c1: [], c2: [], inbox: [] };
  c1.on("message", (f) => got.c1.push(`${f.type}:${f.seq ?? f.user_id ?? ""}`));
  c2.on("message", (f) => got.c2.push(`${f.type}:${f.seq ?? f.user_id ?? ""}`));
  for (const t of ["notification", "unread_count", "notification_read"]) rt.on(t, (f) => got.inbox.push(`${t}:${f.seq ?? f.count}`));
  await tick();
  const ws = last();
  greet(ws, 10);
  joined(ws, "c1", 1);
  joined(ws, "c2", 1);
  ws.push({ type: "chat_message", conversation_id: "c2", seq: 2, message: { id: "a", conversation_id: "c2" } });
  ws.push({ type: "notification", seq: 11, notification: { id: "n1" } });
  ws.push({ type: "unread_count", count: 1 });
  ws.push({ type: "chat_message", conversation_id: "c1", seq: 2, message: { id: "b", conversation_id: "c1" } });
  ws.push({ type: "typing_indicator", conversation_id: "c1", user_id: "v", is_typing: true });
  ws.push({ type: "user_status", conversation_id: "c2", user_id: "w", status: "online" });
  ws.push({ type: "notification_read", seq: 12, notification_ids: ["n1"] });
  ws.push({ type: "chat_message", conversation_id: "c9", seq: 1, message: {} }); // not joined here: nobody's
  assert.deepEqual(got.c1, ["joined:", "chat_message:2", "typing_indicator:v"]);
  assert.deepEqual(got.c2, ["joined:", "chat_message:2", "user_status:w"]);
  assert.deepEqual(got.inbox, ["notification:11", "unread_count:1", "notification_read:12"]);
  assert.equal(rt.lastSeq, 12);
  // A request's error comes back tagged and rejects on its conversation only.
  const p = c2.edit("a", "x");
  const edit = ofType(ws, "message_edit")[0];
  assert.equal(edit.conversation_id, "c2");
  const errors = [];
  c1.on("error", (f) => errors.push(["c1", f.code]));
  c2.on("error", (f) => errors.push(["c2", f.code]));
  ws.push({ type: "error", conversation_id: "c2", code: "forbidden", message: "not yours", request_id: edit.request_id });
  await assert.rejects(p, (e) => e instanceof RealtimeError && e.code === "forbidden");
  assert.deepEqual(errors, [["c2", "forbidden"]]);
  assert.equal(c2.state, "open", "a refused edit does not end the conversation");
  rt.destroy();
});

test("duplicates are dropped by seq per conversation (the same seq in another one is new)", async () => {
  const rt = session();
  const c1 = rt.join("c1");
  const c2 = rt.join("c2");
  const seen = [];
  c1.on("chat_message", (f) => seen.push(`c1:${f.seq}`));
  c2.on("chat_message", (f) => seen.push(`c2:${f.seq}`));
  c1.on("message_reaction", (f) => seen.push(`c1:r${f.seq}`));
  await tick();
  const ws = last();
  greet(ws);
  joined(ws, "c1", 4);
  joined(ws, "c2", 0);
  const msg = (conv, seq) => ws.push({ type: "chat_message", conversation_id: conv, seq, message: { seq } });
  msg("c1", 4); // already covered by joined's last_seq
  msg("c1", 5);
  msg("c2", 1);
  msg("c1", 5);
  ws.push({ type: "message_reaction", conversation_id: "c1", seq: 5, message_id: "x", emoji: "👍" });
  msg("c2", 1);
  msg("c2", 2);
  ws.push({ type: "message_reaction", conversation_id: "c1", seq: 6, message_id: "x", emoji: "👍" });
  assert.deepEqual(seen, ["c1:5", "c2:1", "c2:2", "c1:r6"]);
  assert.equal(c1.lastSeq, 6);
  assert.equal(c2.lastSeq, 2);
  rt.destroy();
});

test("after a reconnect every conversation is joined again with its own since", async () => {
  const rt = session();
  const c1 = rt.join("c1");
  const c2 = rt.join("c2", { since: 40 });
  const seen = [];
  c1.on("chat_message", (f) => seen.push(`c1:${f.seq}`));
  c2.on("chat_message", (f) => seen.push(`c2:${f.seq}`));
  await tick();
  let ws = last();
  greet(ws, 2);
  assert.equal(ofType(ws, "join_conversation").find((f) => f.conversation_id === "c2").since, 40);
  joined(ws, "c1", 5);
  joined(ws, "c2", 41);
  ws.push({ type: "chat_message", conversation_id: "c2", seq: 41, message: {} });
  ws.push({ type: "resumed", conversation_id: "c2", since: 40, last_seq: 41 });
  ws.push({ type: "chat_message", conversation_id: "c1", seq: 6, message: {} });
  ws.push({ type: "notification", seq: 3, notification: { id: "n" } });
  // A message in flight when the link drops is sent again, after the rejoin.
  const pending = c1.sendMessage("retry me");
  const first = ofType(ws, "chat_message")[0];
  const closed = [];
  c1.on("state", (s) => closed.push(s.state));
  ws.serverClose(1006);
  assert.equal(c1.state, "closed");
  assert.equal(c2.state, "closed");
  await wait(10);
  ws = last();
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(ws.url, "ws://test/ws/chat/?since=3", "the inbox stream resumes too");
  ws.open();
  assert.deepEqual(ws.frames(), []);
  greet(ws, 3);
  const joins = ofType(ws, "join_conversation").map((f) => [f.conversation_id, f.since]);
  assert.deepEqual(joins, [["c1", 6], ["c2", 41]]);
  assert.equal(ofType(ws, "chat_message").length, 0, "the resend waits for c1's joined");
  joined(ws, "c2", 41);
  assert.equal(ofType(ws, "chat_message").length, 0, "c2's joined does not release c1's frames");
  joined(ws, "c1", 7);
  assert.deepEqual(ofType(ws, "chat_message")[0], first, "same client_msg_id and request_id");
  ws.push({ type: "chat_message", conversation_id: "c1", seq: 6, message: {} }); // replayed, seen
  ws.push({ type: "chat_message", conversation_id: "c1", seq: 7, message: {} });
  ws.push({ type: "resumed", conversation_id: "c1", since: 6, last_seq: 7 });
  ws.push({ type: "ack", conversation_id: "c1", request_id: first.request_id, message_id: "m7", seq: 7 });
  assert.equal((await pending).seq, 7);
  assert.deepEqual(seen, ["c2:41", "c1:6", "c1:7"]);
  assert.deepEqual(closed, ["closed", "connecting", "open"]);
  rt.destroy();
});

test("resync_required is per conversation", async () => {
  const rt = session();
  const c1 = rt.join("c1", { since: 3 });
  const c2 = rt.join("c2", { since: 900 });
  const resync = [];
  c1.on("resync_required", (f) => resync.push(["c1", f.last_seq]));
  c2.on("resync_required", (f) => resync.push(["c2", f.last_seq]));
  rt.on("resync_required", (f) => resync.push(["session", f.last_seq]));
  await tick();
  let ws = last();
  greet(ws);
  joined(ws, "c1", 4);
  ws.push({ type: "chat_message", conversation_id: "c1", seq: 4, message: {} });
  ws.push({ type: "resumed", conversation_id: "c1", since: 3, last_seq: 4 });
  joined(ws, "c2", 5000);
  ws.push({ type: "resync_required", conversation_id: "c2", last_seq: 5000 });
  assert.deepEqual(resync, [["c2", 5000]]);
  assert.equal(c1.lastSeq, 4);
  assert.equal(c2.lastSeq, 5000);
  ws.push({ type: "chat_message", conversation_id: "c2", seq: 5001, message: {} });
  assert.equal(c2.lastSeq, 5001);
  ws.serverClose(1006);
  await wait(10);
  ws = last();
  greet(ws);
  assert.deepEqual(ofType(ws, "join_conversation").map((f) => [f.conversation_id, f.since]), [["c1", 4], ["c2", 5001]]);
  rt.destroy();
});

test("removed from a conversation: `left` with the reason, requests fail, no rejoin", async () => {
  const rt = session();
  const c1 = rt.join("c1");
  const c2 = rt.join("c2");
  const events = [];
  c1.on("left", (f) => events.push(["left", f.reason]));
  c1.on("state", (s) => events.push(["state", s.state, s.reason]));
  await tick();
  let ws = last();
  greet(ws);
  joined(ws, "c1", 1);
  joined(ws, "c2", 1);
  const p = c1.react("m1", "👍");
  ws.push({ type: "left", conversation_id: "c1", reason: "removed" });
  await assert.rejects(p, /removed/);
  await assert.rejects(c1.sendMessage("too late"), /left/);
  assert.equal(c1.state, "stopped");
  assert.deepEqual(events.slice(-2), [["left", "removed"], ["state", "stopped", "removed"]]);
  assert.deepEqual([...rt.conversations.keys()], ["c2"]);
  ws.serverClose(1006);
  await wait(10);
  ws = last();
  greet(ws);
  assert.deepEqual(ofType(ws, "join_conversation").map((f) => f.conversation_id), ["c2"]);
  rt.destroy();
});

test("a refused join stops that conversation only; the socket stays open", async () => {
  const rt = session();
  const ok = rt.join("ok");
  const secret = rt.join("secret");
  const queued = secret.sendMessage("never");
  await tick();
  const ws = last();
  greet(ws);
  const join = ofType(ws, "join_conversation").find((f) => f.conversation_id === "secret");
  ws.push({ type: "error", conversation_id: "secret", code: "forbidden", message: "not a member", request_id: join.request_id });
  await assert.rejects(queued, (e) => e instanceof RealtimeError && e.code === "forbidden");
  assert.equal(secret.state, "stopped");
  joined(ws, "ok", 0);
  assert.equal(ok.state, "open");
  assert.equal(rt.state, "open");
  // "unavailable" is retried.
  const flaky = rt.join("flaky");
  const j1 = ofType(ws, "join_conversation").at(-1);
  assert.equal(j1.conversation_id, "flaky");
  ws.push({ type: "error", conversation_id: "flaky", code: "unavailable", message: "retry", request_id: j1.request_id });
  await wait(10);
  const j2 = ofType(ws, "join_conversation").at(-1);
  assert.equal(j2.conversation_id, "flaky");
  assert.notEqual(j2.request_id, j1.request_id);
  joined(ws, "flaky", 2);
  assert.equal(flaky.state, "open");
  rt.destroy();
});

test("leave() sends leave_conversation and forgets the conversation", async () => {
  const rt = session();
  const c1 = rt.join("c1");
  await tick();
  let ws = last();
  greet(ws);
  joined(ws, "c1", 3);
  await c1.leave();
  assert.deepEqual(ofType(ws, "leave_conversation"), [{ type: "leave_conversation", conversation_id: "c1" }]);
  assert.equal(c1.state, "stopped");
  // Joined again at once: the answer to the leave is not taken as the new handle's.
  const again = rt.join("c1");
  assert.notEqual(again, c1);
  ws.push({ type: "left", conversation_id: "c1" });
  joined(ws, "c1", 3);
  assert.equal(again.state, "open");
  ws.push({ type: "chat_message", conversation_id: "c1", seq: 4, message: {} });
  assert.equal(again.lastSeq, 4);
  assert.equal(c1.lastSeq, 3);
  await rt.leave("c1");
  ws.serverClose(1006);
  await wait(10);
  ws = last();
  greet(ws);
  assert.deepEqual(ofType(ws, "join_conversation"), []);
  rt.destroy();
});

test("notifications work on the session like on /ws/notifications/", async () => {
  const rt = session();
  const counts = [];
  rt.on("unread_count", (f) => counts.push(f.count));
  await tick();
  const ws = last();
  greet(ws, 5);
  const read = rt.markRead("n1");
  const [mark] = ws.frames();
  assert.equal(mark.type, "mark_read");
  assert.equal("conversation_id" in mark, false);
  ws.push({ type: "notification_read", seq: 6, notification_ids: ["n1"] });
  ws.push({ type: "unread_count", count: 0 });
  ws.push({ type: "ack", request_id: mark.request_id });
  await read;
  ws.push({ type: "notification_read", seq: 6, notification_ids: ["n1"] }); // duplicate
  assert.deepEqual(counts, [0]);
  assert.equal(rt.lastSeq, 6);
  rt.destroy();
});

test("leave() before the join is answered waits for `joined` (unless joined again meanwhile)", async () => {
  const rt = session();
  const c1 = rt.join("c1");
  await tick();
  const ws = last();
  greet(ws);
  await c1.leave();
  assert.equal(c1.state, "stopped");
  assert.deepEqual(ofType(ws, "leave_conversation"), [], "not before the server has the join");
  joined(ws, "c1", 2);
  assert.deepEqual(ofType(ws, "leave_conversation"), [{ type: "leave_conversation", conversation_id: "c1" }]);
  ws.push({ type: "left", conversation_id: "c1" });
  // Left and joined again before the first join is answered: that join serves the new handle.
  const c2 = rt.join("c2");
  await c2.leave();
  const again = rt.join("c2");
  joined(ws, "c2", 5);
  joined(ws, "c2", 5);
  assert.equal(again.state, "open");
  assert.deepEqual(ofType(ws, "leave_conversation").map((f) => f.conversation_id), ["c1"]);
  rt.destroy();
});
