import { test } from "node:test";
import assert from "node:assert/strict";
import {
  backoffDelay,
  BoundedQueue,
  QueueFullError,
  SeqTracker,
  buildUrl,
  protocolsFor,
  newId,
} from "../realtime.js";

test("backoff: full jitter within [0, min(cap, base*2^n))", () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const ceiling = Math.min(30000, 500 * 2 ** attempt);
    assert.equal(backoffDelay(attempt, { random: () => 0 }), 0);
    assert.equal(backoffDelay(attempt, { random: () => 0.5 }), Math.floor(ceiling / 2));
    const top = backoffDelay(attempt, { random: () => 0.999999 });
    assert.ok(top < ceiling && top >= ceiling - 1, `attempt ${attempt}: ${top} vs ${ceiling}`);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(attempt);
      assert.ok(d >= 0 && d < ceiling, `attempt ${attempt}: ${d}`);
    }
  }
});

test("backoff: capped at 30 s even for huge attempts, base and cap configurable", () => {
  assert.ok(backoffDelay(1e6, { random: () => 0.999 }) < 30000);
  assert.ok(backoffDelay(1e6, { random: () => 0.999 }) >= 29900);
  assert.equal(backoffDelay(3, { base: 100, cap: 1000, random: () => 0.5 }), 400);
  assert.equal(backoffDelay(10, { base: 100, cap: 1000, random: () => 0.5 }), 500);
  assert.equal(backoffDelay(-1, { random: () => 0.5 }), 250);
});

test("backoff: jitter actually spreads delays", () => {
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(6)));
  assert.ok(seen.size > 10, `only ${seen.size} distinct delays`);
});

test("bounded queue: FIFO, then a clear error when full", () => {
  const q = new BoundedQueue(3);
  q.push(1);
  q.push(2);
  q.push(3);
  assert.equal(q.size, 3);
  assert.throws(() => q.push(4), (e) => {
    assert.ok(e instanceof QueueFullError);
    assert.equal(e.code, "queue_full");
    assert.match(e.message, /queue is full \(3 frames/);
    return true;
  });
  assert.equal(q.shift(), 1);
  q.push(4);
  assert.deepEqual(q.drain(), [2, 3, 4]);
  assert.equal(q.size, 0);
  assert.equal(new BoundedQueue().limit, 100);
  assert.throws(() => new BoundedQueue(0), RangeError);
});

test("seq tracker drops duplicates and replays already seen", () => {
  const t = new SeqTracker();
  assert.equal(t.last, null);
  assert.equal(t.accept(1), true);
  assert.equal(t.accept(2), true);
  assert.equal(t.accept(2), false);
  assert.equal(t.accept(1), false);
  assert.equal(t.accept(5), true); // a gap is accepted (the server never reuses seqs)
  assert.equal(t.accept(4), false);
  assert.equal(t.last, 5);
  assert.equal(t.accept(undefined), true); // ephemeral frames carry no seq
  const resumed = new SeqTracker(10);
  assert.equal(resumed.accept(10), false);
  assert.equal(resumed.accept(11), true);
  resumed.reset(3);
  assert.equal(resumed.accept(4), true);
});

test("resume URL: since and token in the query, http becomes ws", () => {
  assert.equal(buildUrl("ws://127.0.0.1:8787", "/ws/chat/c1/"), "ws://127.0.0.1:8787/ws/chat/c1/");
  assert.equal(
    buildUrl("ws://127.0.0.1:8787", "/ws/chat/c1/", { since: 42 }),
    "ws://127.0.0.1:8787/ws/chat/c1/?since=42",
  );
  assert.equal(
    buildUrl("http://h:1", "/ws/notifications/", { since: 0 }),
    "ws://h:1/ws/notifications/?since=0",
  );
  assert.equal(buildUrl("https://x.dev/", "/ws/online/"), "wss://x.dev/ws/online/");
  const u = new URL(buildUrl("wss://x.dev", "/ws/online/", { since: 7, token: "a.b.c" }));
  assert.equal(u.searchParams.get("since"), "7");
  assert.equal(u.searchParams.get("token"), "a.b.c");
  assert.equal(buildUrl("ws://h", "/p?since=3", { since: null }), "ws://h/p");
});

test("subprotocols carry the token by default", () => {
  assert.deepEqual(protocolsFor("jwt"), ["realtime.v1", "bearer.jwt"]);
  assert.deepEqual(protocolsFor("jwt", "query"), ["realtime.v1"]);
});

test("ids are unique and short enough for request_id", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newId("r")));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.ok(id.length <= 64 && /^[A-Za-z0-9]+$/.test(id), id);
});
