// A tiny local webhook receiver for development (`WEBHOOKS=1 make dev` starts it): it
// verifies each POSTed Standard Webhooks event (README "Webhooks to your backend"), keeps the
// last 200 verified ones in memory and serves them at GET /events for the demo page's
// "Webhook log" panel. Node built-ins only; not for production.
//
//   WEBHOOK_SECRET=whsec_... [WEBHOOK_RECEIVER_PORT=8788] node scripts/webhook-receiver.mjs
//
// POST (any path): 204 when the signature checks out, 400 otherwise.
// GET /events: JSON list of {id, type, timestamp, data, verified: true}, newest last.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const PORT = Number(process.env.WEBHOOK_RECEIVER_PORT ?? 8788);
const SECRET = process.env.WEBHOOK_SECRET ?? "";
const KEEP = 200; // events kept in memory
const TOLERANCE_S = 5 * 60; // a timestamp further from now than this is refused (replays)

if (!SECRET.startsWith("whsec_")) {
  console.error("webhook-receiver: WEBHOOK_SECRET must be whsec_ + base64");
  process.exit(2);
}
const KEY = Buffer.from(SECRET.slice("whsec_".length), "base64");

const events = []; // the last KEEP verified events, oldest first
const CORS = { "Access-Control-Allow-Origin": "*" };

/** True when `signature` (space separated `v1,<base64>` entries) signs `id.timestamp.body`. */
function verify(id, timestamp, signature, body) {
  if (!id || !/^\d+$/.test(timestamp ?? "") || !signature) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_S) return false;
  const expected = createHmac("sha256", KEY).update(`${id}.${timestamp}.${body}`).digest();
  return signature.split(" ").some((entry) => {
    const [version, b64] = entry.split(",", 2);
    const got = Buffer.from(b64 ?? "", "base64");
    return version === "v1" && got.length === expected.length && timingSafeEqual(got, expected);
  });
}

const server = createServer((req, res) => {
  if (req.method === "GET" && new URL(req.url, "http://x").pathname === "/events") {
    res.writeHead(200, { ...CORS, "Content-Type": "application/json", "Cache-Control": "no-store" });
    return res.end(JSON.stringify(events));
  }
  if (req.method === "OPTIONS") {
    res.writeHead(204, { ...CORS, "Access-Control-Allow-Methods": "GET" });
    return res.end();
  }
  if (req.method !== "POST") {
    res.writeHead(405, CORS);
    return res.end();
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const id = req.headers["webhook-id"];
    let event = null;
    try {
      if (verify(id, req.headers["webhook-timestamp"], req.headers["webhook-signature"], body)) event = JSON.parse(body);
    } catch {
      /* not JSON: refused below */
    }
    if (!event) {
      console.error(`webhook-receiver: refused ${id ?? "(no webhook-id)"}: bad signature`);
      res.writeHead(400, { "Content-Type": "text/plain" });
      return res.end("invalid signature\n");
    }
    // A retry carries the same webhook-id: keep the event once.
    if (!events.some((e) => e.id === id)) {
      events.push({ id, type: event.type, timestamp: event.timestamp, data: event.data, verified: true });
      if (events.length > KEEP) events.splice(0, events.length - KEEP);
      console.error(`webhook-receiver: ${event.type} ${id}`);
    }
    res.writeHead(204);
    res.end();
  });
});

server.listen(PORT, "127.0.0.1", () => {
  console.error(`webhook-receiver: listening on http://127.0.0.1:${PORT}/ (events at /events)`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
