// Types for realtime.js (the edge-realtime WebSocket client).

export declare const PING_TEXT: '{"type":"ping"}';
export declare const SUBPROTOCOL: "realtime.v1";
export declare const CLOSE: Readonly<{
  UNAUTHORIZED: 4001;
  FORBIDDEN: 4003;
  BAD_REQUEST: 4400;
  TOO_MANY_SOCKETS: 4429;
  POLICY: 1008;
  TOO_BIG: 1009;
}>;

export interface BackoffOptions {
  /** First ceiling in ms (default 500). */
  base?: number;
  /** Largest ceiling in ms (default 30000). */
  cap?: number;
  /** Source of randomness in [0, 1) (default Math.random). */
  random?: () => number;
}
/** Full jitter: a uniform delay in [0, min(cap, base * 2^attempt)). */
export declare function backoffDelay(attempt: number, opts?: BackoffOptions): number;

export declare class QueueFullError extends Error {
  readonly code: "queue_full";
  readonly limit: number;
}
export declare class RealtimeError extends Error {
  readonly code: string;
  readonly frame: ErrorFrame;
}
export declare class BoundedQueue<T = unknown> {
  constructor(limit?: number);
  readonly limit: number;
  readonly size: number;
  /** Throws QueueFullError when `size === limit`. */
  push(item: T): void;
  unshiftAll(items: T[]): void;
  shift(): T | undefined;
  drain(): T[];
}
export declare class SeqTracker {
  constructor(last?: number | null);
  last: number | null;
  /** True for a seq beyond the last one seen (and remembers it); false for duplicates. */
  accept(seq: number | undefined): boolean;
  reset(last?: number | null): void;
}
export declare function buildUrl(
  url: string,
  path?: string,
  opts?: { since?: number | null; token?: string | null },
): string;
export declare function protocolsFor(token: string, tokenIn?: "protocol" | "query"): string[];
export declare function newId(prefix?: string): string;

export type ConnectionState = "idle" | "connecting" | "open" | "closed" | "stopped";

export interface StateEvent {
  state: ConnectionState;
  code?: number;
  reason?: string;
}
export interface Frame {
  type: string;
  seq?: number;
  [key: string]: unknown;
}
export interface AckFrame extends Frame {
  type: "ack";
  request_id: string | null;
  message_id?: string;
  seq?: number;
}
export interface ErrorFrame extends Frame {
  type: "error";
  code: string;
  message: string;
  request_id?: string;
}
export interface Sender {
  id: string;
  username: string | null;
  name: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  avatar: string | null;
}
export interface MessageView {
  id: string;
  seq: number;
  conversation_id: string;
  content: string | null;
  sender: Sender;
  parent_message_id: string | null;
  client_msg_id: string | null;
  created_at: string;
  is_edited: boolean;
  is_deleted?: boolean;
}
export interface ChatMessageFrame extends Frame {
  type: "chat_message";
  seq: number;
  message: MessageView;
}

export interface RealtimeClientOptions {
  /** Base URL, e.g. "ws://127.0.0.1:8787" (http(s) is turned into ws(s)). */
  url: string;
  /** Endpoint path, e.g. "/ws/chat/general/". */
  path: string;
  /** A fixed token; or use getToken. */
  token?: string;
  /** Called before every (re)connect; return the JWT to use. */
  getToken?: () => Promise<string> | string;
  /** Resume point: replay durable events with seq > since on the first connect. */
  since?: number | null;
  /** Where the token goes: the `bearer.<jwt>` subprotocol (default) or `?token=`. */
  tokenIn?: "protocol" | "query";
  /** Frames kept while disconnected (default 100). */
  queueLimit?: number;
  /** Interval of the `{"type":"ping"}` heartbeat (default 25000; 0 disables). */
  heartbeatMs?: number;
  /** How long a request waits for its ack (default 30000). */
  ackTimeoutMs?: number;
  /** Open this long and the backoff starts over (default 5000). */
  stableMs?: number;
  backoff?: BackoffOptions;
  /** WebSocket implementation (default globalThis.WebSocket). */
  WebSocket?: unknown;
  /** Connect at once (default true). */
  autoConnect?: boolean;
}

export declare class RealtimeClient {
  constructor(opts: RealtimeClientOptions);
  readonly state: ConnectionState;
  /** Last durable seq seen on this stream (the resume point). */
  readonly lastSeq: number | null;
  /** The last connection.established frame. */
  readonly lastEstablished: Frame | null;

  on(type: "state", handler: (e: StateEvent) => void): () => void;
  on(type: "close", handler: (e: { code: number; reason: string }) => void): () => void;
  on(type: "chat_message", handler: (f: ChatMessageFrame) => void): () => void;
  on(type: "error", handler: (f: ErrorFrame | Error) => void): () => void;
  on(type: string, handler: (f: Frame) => void): () => void;
  off(type: string, handler: (...args: any[]) => void): void;

  connect(): Promise<void>;
  close(code?: number, reason?: string): void;
  destroy(): void;
  setToken(token: string): void;

  /** Sends now or queues; rejects with QueueFullError when the queue is full. */
  send(frame: object | string): Promise<void>;
  /** Sends with a fresh request_id; resolves with the ack, rejects with a RealtimeError. */
  request(frame: Frame, opts?: { resend?: boolean }): Promise<AckFrame>;
  sendMessage(
    content: string,
    opts?: { parentMessageId?: string | null; clientMsgId?: string },
  ): Promise<AckFrame>;
  typing(isTyping?: boolean): Promise<void>;
  readReceipt(messageId: string): Promise<AckFrame>;
  react(messageId: string, emoji: string): Promise<AckFrame>;
  edit(messageId: string, content: string): Promise<AckFrame>;
  remove(messageId: string): Promise<AckFrame>;
  markRead(notificationId: string): Promise<AckFrame>;
  markAllRead(): Promise<AckFrame>;
}
export interface RealtimeSessionOptions extends Omit<RealtimeClientOptions, "path" | "since"> {
  /** Session endpoint (default "/ws/chat/"; "/ws/" is the same). */
  path?: string;
  /** Resume point of the user's inbox stream (notifications). */
  since?: number | null;
}

export interface JoinedFrame extends Frame {
  type: "joined";
  conversation_id: string;
  last_seq: number;
  presence: { user_id: string; user_name: string; devices: number }[];
}
export interface LeftFrame extends Frame {
  type: "left";
  conversation_id: string;
  /** "removed" when a member was removed through the API. */
  reason?: string;
}

/**
 * One socket per device (`/ws/chat/`): the user's notifications (the RealtimeClient API of
 * a `/ws/notifications/` client: markRead, markAllRead, `notification`, `unread_count`, …,
 * and `lastSeq` of the inbox stream) plus any number of joined conversations. The session
 * emits the inbox's frames by type, "message" for every frame, "state" and "close";
 * a conversation's frames (they carry `conversation_id`) go to its Conversation.
 */
export declare class RealtimeSession extends RealtimeClient {
  constructor(opts: RealtimeSessionOptions);
  /** The conversations joined (or being joined), by id. */
  readonly conversations: Map<string, Conversation>;
  /**
   * Joins now (or once connected) and returns the handle; the same handle while joined.
   * After every reconnect it is joined again with its own `since` (its lastSeq).
   */
  join(conversationId: string, opts?: { since?: number | null }): Conversation;
  leave(conversationId: string): Promise<void>;
}

/**
 * A conversation on a RealtimeSession, with the API of a single-room RealtimeClient. Frames
 * wait in its own queue until it is joined on the current socket; durable events are
 * deduplicated by its own seq. state: "connecting" (join sent) → "open" (joined) →
 * "closed" (socket down, rejoins) → "stopped" (left, removed, or the join was refused:
 * `code` 4003 for forbidden and removed, 4400 for invalid_request).
 */
export declare class Conversation {
  readonly session: RealtimeSession;
  readonly conversationId: string;
  readonly state: ConnectionState;
  /** Last durable seq seen in this conversation (the `since` of the next join). */
  readonly lastSeq: number | null;
  /** Online users as of the last `joined` frame. */
  readonly presence: JoinedFrame["presence"];
  readonly lastJoined: JoinedFrame | null;
  /** Why it stopped: "left", "removed", "refused". */
  readonly leftReason: string | null;

  on(type: "state", handler: (e: StateEvent) => void): () => void;
  on(type: "joined", handler: (f: JoinedFrame) => void): () => void;
  on(type: "left", handler: (f: LeftFrame) => void): () => void;
  on(type: "chat_message", handler: (f: ChatMessageFrame) => void): () => void;
  on(type: "error", handler: (f: ErrorFrame) => void): () => void;
  on(type: string, handler: (f: Frame) => void): () => void;
  off(type: string, handler: (...args: any[]) => void): void;

  /** Sends with this conversation_id (queued until joined). */
  send(frame: object | string): Promise<void>;
  request(frame: Frame, opts?: { resend?: boolean }): Promise<AckFrame>;
  sendMessage(
    content: string,
    opts?: { parentMessageId?: string | null; clientMsgId?: string },
  ): Promise<AckFrame>;
  typing(isTyping?: boolean): Promise<void>;
  readReceipt(messageId: string): Promise<AckFrame>;
  react(messageId: string, emoji: string): Promise<AckFrame>;
  edit(messageId: string, content: string): Promise<AckFrame>;
  remove(messageId: string): Promise<AckFrame>;
  /** Sends leave_conversation; the handle stops and is never joined again. */
  leave(): Promise<void>;
}

export default RealtimeClient;
