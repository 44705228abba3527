//! Wire frames (SPEC §4): what clients send ([`ClientFrame`]) and what the server sends
//! ([`ServerFrame`]). Every frame is a JSON object tagged by `type`; golden tests in
//! `protocol_tests.rs` pin the exact JSON of each.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::decode::decode;
use super::errors::{ErrorCode, FrameError};

/// Longest `request_id` echoed back.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// The exact text answered by the runtime without waking the object, and its answer.
pub const PING_TEXT: &str = r#"{"type":"ping"}"#;
pub const PONG_TEXT: &str = r#"{"type":"pong"}"#;

/// A frame from a client, as `domain::decode` reads it (unknown fields are ignored):
/// each variant is the `type` in snake case; `typing` is read as `typing_indicator`.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Ping {
        timestamp: Option<Value>,
    },
    Resume {
        since: u64,
    },
    ChatMessage(ChatMessageIn),
    TypingIndicator {
        is_typing: bool,
    },
    ReadReceipt {
        message_id: String,
    },
    MessageReaction {
        message_id: String,
        emoji: String,
    },
    MessageEdit {
        message_id: String,
        content: String,
    },
    MessageDelete {
        message_id: String,
    },
    MarkRead {
        notification_id: String,
    },
    MarkAllRead {},
    /// Sessions only (SPEC §9).
    JoinConversation {
        conversation_id: String,
        since: Option<u64>,
    },
    LeaveConversation {
        conversation_id: String,
    },
}

impl ClientFrame {
    /// The frame's `type`, for messages about it.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientFrame::Ping { .. } => "ping",
            ClientFrame::Resume { .. } => "resume",
            ClientFrame::ChatMessage(_) => "chat_message",
            ClientFrame::TypingIndicator { .. } => "typing_indicator",
            ClientFrame::ReadReceipt { .. } => "read_receipt",
            ClientFrame::MessageReaction { .. } => "message_reaction",
            ClientFrame::MessageEdit { .. } => "message_edit",
            ClientFrame::MessageDelete { .. } => "message_delete",
            ClientFrame::MarkRead { .. } => "mark_read",
            ClientFrame::MarkAllRead {} => "mark_all_read",
            ClientFrame::JoinConversation { .. } => "join_conversation",
            ClientFrame::LeaveConversation { .. } => "leave_conversation",
        }
    }

    /// A frame about a conversation's content: on a session it names its conversation and
    /// is forwarded to the room (SPEC §9).
    pub fn is_conversation_frame(&self) -> bool {
        matches!(
            self,
            ClientFrame::ChatMessage(_)
                | ClientFrame::TypingIndicator { .. }
                | ClientFrame::ReadReceipt { .. }
                | ClientFrame::MessageReaction { .. }
                | ClientFrame::MessageEdit { .. }
                | ClientFrame::MessageDelete { .. }
        )
    }
}

/// A new message, from a socket or from the server API (`ChatMessageIn::read`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessageIn {
    pub content: String,
    pub parent_message_id: Option<String>,
    pub client_msg_id: Option<String>,
}

/// A decoded client frame with its optional `request_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub request_id: Option<String>,
    /// The conversation a frame on a session is about (SPEC §9); ignored elsewhere.
    pub conversation_id: Option<String>,
    pub frame: ClientFrame,
}

/// A frame that could not be decoded, with the `request_id` if one could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub request_id: Option<String>,
    pub error: FrameError,
}

/// `online` / `offline` in `user_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Online,
    Offline,
}

/// Whether a reaction toggle added or removed the emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReactionAction {
    Added,
    Removed,
}

/// One user online on a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEntry {
    pub user_id: String,
    pub user_name: String,
    pub devices: u32,
}

/// The message sender as shown in events: every key present, `null` when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub id: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub avatar: Option<String>,
}

/// A chat message as broadcast, replayed and listed by the history API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    pub seq: u64,
    pub conversation_id: String,
    pub content: Option<String>,
    pub sender: Sender,
    pub parent_message_id: Option<String>,
    pub client_msg_id: Option<String>,
    pub created_at: String,
    pub is_edited: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_deleted: bool,
}

/// A notification as pushed and listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: String,
    pub notification_type: String,
    pub title: Option<String>,
    pub body: Option<String>,
    pub message: Option<String>,
    pub actor: Value,
    pub data: Value,
    pub read: bool,
    pub created_at: String,
}

/// The first frame on every socket; fields beyond `user_id` and `last_seq` depend on the
/// endpoint and are left out where they do not apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Established {
    pub user_id: String,
    pub user_name: String,
    pub last_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<Vec<PresenceEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<Vec<String>>,
    /// Sessions (SPEC §9): the conversations joined, empty on connect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations: Option<Vec<String>>,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    #[serde(rename = "connection.established")]
    ConnectionEstablished(Established),
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        timestamp: Option<Value>,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    Ack {
        request_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    Resumed {
        since: u64,
        last_seq: u64,
    },
    /// Sessions: a `join_conversation` succeeded; the replay its `since` asked for follows.
    Joined {
        conversation_id: String,
        last_seq: u64,
        presence: Vec<PresenceEntry>,
    },
    /// Sessions: the conversation is no longer delivered (`reason: "removed"` when the
    /// member was removed through the API).
    Left {
        conversation_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    ResyncRequired {
        last_seq: u64,
    },
    ChatMessage {
        seq: u64,
        message: MessageView,
    },
    TypingIndicator {
        user_id: String,
        user_name: String,
        is_typing: bool,
        timestamp: String,
    },
    ReadReceipt {
        seq: u64,
        message_id: String,
        user_id: String,
        timestamp: String,
    },
    MessageReaction {
        seq: u64,
        message_id: String,
        emoji: String,
        user_id: String,
        action: ReactionAction,
        timestamp: String,
    },
    MessageEdit {
        seq: u64,
        message_id: String,
        content: Option<String>,
        edited_at: String,
        timestamp: String,
    },
    MessageDelete {
        seq: u64,
        message_id: String,
        timestamp: String,
    },
    UserStatus {
        user_id: String,
        username: String,
        /// The display name, as in `presence` and `typing_indicator` (beyond the SPEC's
        /// fields, so a client can show a name without a lookup).
        user_name: String,
        status: Status,
        online_status: bool,
        timestamp: String,
    },
    /// Presence changes held together (`domain::presence::Window`), for sockets that asked
    /// with `?presence=batch`: each entry is the `user_status` frame the other sockets get,
    /// oldest first.
    PresenceUpdate {
        users: Vec<ServerFrame>,
    },
    Notification {
        seq: u64,
        notification: NotificationView,
    },
    UnreadCount {
        count: u64,
    },
    /// Notifications that became read. `mark_all_read` sends one marker instead of every
    /// id: `all: true` with `up_to_seq`, meaning every notification with `seq <= up_to_seq`
    /// (and `notification_ids` empty).
    NotificationRead {
        seq: u64,
        notification_ids: Vec<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        all: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        up_to_seq: Option<u64>,
    },
    Event {
        seq: u64,
        id: String,
        event_type: String,
        data: Value,
        timestamp: String,
    },
}

impl ServerFrame {
    /// The JSON text sent on the wire.
    pub fn to_text(&self) -> String {
        // Serializing these types cannot fail: no maps with non-string keys, no foreign types.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn error(e: FrameError, request_id: Option<String>) -> Self {
        ServerFrame::Error {
            code: e.code,
            message: e.message,
            request_id,
        }
    }

    pub fn user_status(
        user_id: &str,
        (username, user_name): (&str, &str),
        online: bool,
        timestamp: String,
    ) -> Self {
        ServerFrame::UserStatus {
            user_id: user_id.into(),
            username: username.into(),
            user_name: user_name.into(),
            status: if online {
                Status::Online
            } else {
                Status::Offline
            },
            online_status: online,
            timestamp,
        }
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
