// RealtimeClient against a scripted fake WebSocket: no network, no timers left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RealtimeClient, QueueFullError, RealtimeError, PING_TEXT } from "../realtime.js";
import { FakeSocket } from "./fake-socket.mjs";

const tick = () => new Promise((r) => setTimeout(r, 0));
const last = () => FakeSocket.all[FakeSocket.all.length - 1];

function client(extra = {}) {
  FakeSocket.all = [];
  return new RealtimeClient({
    url: "ws://test",
    path: "/ws/chat/c1/",
    token: "jwt1",
    WebSocket: FakeSocket,
    heartbeatMs: 0,
    backoff: { base: 1, cap: 2 },
    ...extra,
  });
}

test("connects with the bearer subprotocol, queues while connecting, resolves acks", async () => {
  const rt = client();
  const states = [];
  rt.on("state", (s) => states.push(s.state));
  const sent = rt.sendMessage("hi");
  await tick();
  const ws = last();
  assert.equal(ws.url, "ws://test/ws/chat/c1/?presence=batch");
  assert.deepEqual(ws.protocols, ["realtime.v1", "bearer.jwt1"]);
  ws.open();
  ws.push({ type: "connection.established", user_id: "u", last_seq: 4 });
  const [frame] = ws.frames();
  assert.equal(frame.type, "chat_message");
  assert.equal(frame.content, "hi");
  assert.ok(frame.client_msg_id && frame.request_id);
  ws.push({ type: "ack", request_id: frame.request_id, message_id: "m5", seq: 5 });
  assert.deepEqual(await sent, { type: "ack", request_id: frame.request_id, message_id: "m5", seq: 5 });
  assert.deepEqual(states, ["connecting", "open"]);
  rt.destroy();
});

test("errors reject the matching request", async () => {
  const rt = client();
  await tick();
  last().open();
  const p = rt.edit("m1", "x");
  const { request_id } = last().frames()[0];
  last().push({ type: "error", code: "forbidden", message: "not yours", request_id });
  await assert.rejects(p, (e) => e instanceof RealtimeError && e.code === "forbidden");
  rt.destroy();
});

test("drops duplicate seqs, resumes with ?since= and resends unacknowledged messages", async () => {
  const rt = client();
  const seen = [];
  rt.on("chat_message", (f) => seen.push(f.seq));
  await tick();
  let ws = last();
  ws.open();
  ws.push({ type: "connection.established", last_seq: 2 });
  ws.push({ type: "chat_message", seq: 3, message: {} });
  ws.push({ type: "chat_message", seq: 3, message: {} });
  const pending = rt.sendMessage("retry me");
  const first = ws.frames()[0];
  ws.serverClose(1006);
  assert.equal(rt.state, "closed");
  await new Promise((r) => setTimeout(r, 10));
  ws = last();
  assert.equal(ws.url, "ws://test/ws/chat/c1/?since=3&presence=batch");
  ws.open();
  // The same frame (same client_msg_id and request_id) goes out again.
  assert.deepEqual(ws.frames()[0], first);
  ws.push({ type: "chat_message", seq: 3, message: {} }); // replayed, already seen
  ws.push({ type: "chat_message", seq: 4, message: {} });
  ws.push({ type: "resumed", since: 3, last_seq: 4 });
  ws.push({ type: "ack", request_id: first.request_id, message_id: "m4", seq: 4 });
  await pending;
  assert.deepEqual(seen, [3, 4]);
  assert.equal(rt.lastSeq, 4);
  rt.destroy();
});

test("the queue is bounded", async () => {
  const rt = client({ queueLimit: 2, autoConnect: false });
  const queued = [rt.send({ type: "typing", is_typing: true }), rt.send({ type: "typing", is_typing: false })];
  await assert.rejects(rt.send({ type: "typing", is_typing: true }), QueueFullError);
  rt.destroy();
  for (const p of queued) await assert.rejects(p, /client closed/);
});

test("4003 stops for good; 4001 stops until a new token", async () => {
  const rt = client();
  await tick();
  last().open();
  last().serverClose(4003, "forbidden");
  assert.equal(rt.state, "stopped");
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(FakeSocket.all.length, 1);
  rt.destroy();

  const rt2 = client();
  await tick();
  last().serverClose(4001, "expired");
  assert.equal(rt2.state, "stopped");
  rt2.setToken("jwt2");
  await tick();
  assert.deepEqual(last().protocols, ["realtime.v1", "bearer.jwt2"]);
  assert.equal(FakeSocket.all.length, 2);
  rt2.destroy();
});

test("getToken is asked again on reconnect; a refused token that comes back stops", async () => {
  const tokens = ["a", "b", "b"];
  const rt = client({ token: undefined, getToken: async () => tokens.shift() });
  await tick();
  await tick();
  last().serverClose(4001);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(last().protocols, ["realtime.v1", "bearer.b"]);
  last().serverClose(4001);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(rt.state, "stopped");
  assert.equal(FakeSocket.all.length, 2);
  rt.destroy();
});

test("heartbeat sends the exact ping text", async () => {
  const rt = client({ heartbeatMs: 5 });
  await tick();
  last().open();
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(last().sent.includes(PING_TEXT));
  rt.destroy();
});

test("asks for presence batches and hands each entry on as the user_status it is", async () => {
  const rt = client();
  const seen = [];
  rt.on("user_status", (f) => seen.push(`${f.user_id}:${f.status}`));
  await tick();
  const ws = last();
  assert.equal(new URL(ws.url).searchParams.get("presence"), "batch");
  ws.open();
  ws.push({ type: "connection.established", user_id: "u", last_seq: 0 });
  ws.push({
    type: "presence_update",
    users: [
      { type: "user_status", user_id: "a", status: "online", online_status: true },
      { type: "user_status", user_id: "b", status: "offline", online_status: false },
    ],
  });
  ws.push({ type: "user_status", user_id: "c", status: "online", online_status: true });
  assert.deepEqual(seen, ["a:online", "b:offline", "c:online"]);
  rt.destroy();
});
