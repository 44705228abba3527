// Minimal JavaScript baseline for the benchmark (bench/README in BENCHMARKS.md): one Durable
// Object per room, WebSocket Hibernation API, no auth, no validation, no storage. Same wire
// shape as the service for what the load generator uses.

export class Room {
  constructor(state) {
    this.state = state;
    this.seq = 0;
    // Random per instance, like the service's x-rt-instance: a new value after a silence
    // means the runtime evicted this object and built it again (hibernation observed).
    this.instance = crypto.randomUUID();
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname.endsWith("/presence")) {
      const headers = { "x-rt-instance": this.instance };
      return Response.json({ users: [], instance: this.instance }, { headers });
    }
    if (request.method === "POST") {
      const body = await request.json();
      const message = this.broadcast(body.content, body.sender?.id ?? "api", url.pathname.split("/")[3]);
      return Response.json({ message }, { status: 201 });
    }
    const pair = new WebSocketPair();
    this.state.acceptWebSocket(pair[1]);
    // Remembered across hibernation like the service's attachment, for the frames' ids.
    pair[1].serializeAttachment({ user: url.searchParams.get("user") ?? "anonymous", room: url.pathname.split("/")[3] });
    pair[1].send(JSON.stringify({
      type: "connection.established",
      user_id: url.searchParams.get("user") ?? "anonymous",
      conversation_id: url.pathname.split("/")[3],
      last_seq: this.seq,
      presence: [],
    }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  // The service's `chat_message` frame, field for field (ids, sender profile, timestamps),
  // so both targets put the same bytes on every socket.
  broadcast(content, sender, conversationId, clientMsgId = null) {
    this.seq += 1;
    const message = {
      id: crypto.randomUUID().replaceAll("-", "").slice(0, 20),
      seq: this.seq,
      conversation_id: conversationId,
      content,
      sender: { id: sender, username: null, name: null, email: null, first_name: null, last_name: null, avatar: null },
      parent_message_id: null,
      client_msg_id: clientMsgId,
      created_at: new Date().toISOString(),
      is_edited: false,
    };
    const frame = JSON.stringify({ type: "chat_message", seq: this.seq, message });
    for (const ws of this.state.getWebSockets()) {
      try { ws.send(frame); } catch { /* closing socket */ }
    }
    return message;
  }

  webSocketMessage(ws, text) {
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (frame.type !== "chat_message") return;
    const { user, room } = ws.deserializeAttachment() ?? {};
    const message = this.broadcast(frame.content, user ?? "ws", room, frame.client_msg_id ?? null);
    ws.send(JSON.stringify({ type: "ack", request_id: frame.request_id ?? null, message_id: message.id, seq: message.seq }));
  }

  webSocketClose(ws, code) {
    try { ws.close(code, "bye"); } catch { /* already closed */ }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter(Boolean);
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    if (parts[0] === "ws" && parts[1] === "chat" && parts[2]) {
      return env.ROOM.get(env.ROOM.idFromName(parts[2])).fetch(request);
    }
    if (parts[0] === "api" && parts[1] === "conversations" && parts[2]) {
      if (request.method === "PUT" && parts[3] === "members") return Response.json({ ok: true });
      if (request.method === "GET" && parts[3] === "presence") {
        return env.ROOM.get(env.ROOM.idFromName(parts[2])).fetch(request);
      }
      if (request.method === "POST" && parts[3] === "messages") {
        return env.ROOM.get(env.ROOM.idFromName(parts[2])).fetch(request);
      }
    }
    return Response.json({ error: { code: "not_found" } }, { status: 404 });
  },
};
