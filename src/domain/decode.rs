//! Decoding a client's text frame into a [`ClientFrame`] (SPEC §4) and the message API's
//! body into a [`MessagePost`], with [`Fields`], the typed reads of a JSON object's fields
//! that both share.
//!
//! The frame is parsed once into a `serde_json::Value` and its fields are read by hand
//! rather than through `#[derive(Deserialize)]` on the tagged enum: serde decodes an
//! internally tagged enum by buffering the object into its private `Content` tree and
//! replaying it for each variant, which cost about 30 KB of the Worker's Wasm.

use serde_json::{Map, Value};

use super::errors::{ApiError, ErrorCode, FrameError};
use super::identity::Profile;
use super::protocol::{ChatMessageIn, ClientFrame, Incoming, Rejected, MAX_REQUEST_ID_LEN};

/// Every `type` a client may send, for telling `unknown_type` from `invalid_request`.
const CLIENT_TYPES: &[&str] = &[
    "ping",
    "resume",
    "chat_message",
    "typing_indicator",
    "typing",
    "read_receipt",
    "message_reaction",
    "message_edit",
    "message_delete",
    "mark_read",
    "mark_all_read",
    "join_conversation",
    "leave_conversation",
];

/// Decodes a text frame: invalid JSON, an unknown `type` and a bad field are told apart.
pub fn decode(text: &str) -> Result<Incoming, Rejected> {
    let reject = |request_id, error| Rejected { request_id, error };
    let value: Value = serde_json::from_str(text).map_err(|_| {
        let error = FrameError::new(ErrorCode::InvalidJson, "frame is not valid JSON");
        reject(None, error)
    })?;
    let Value::Object(map) = &value else {
        let error = FrameError::invalid("frame must be a JSON object");
        return Err(reject(None, error));
    };
    let fields = Fields(map);
    let request_id = request_id_of(map).map_err(|e| reject(None, e))?;
    let read = || {
        let kind = frame_type(map)?;
        let conversation_id = fields.opt_string("conversation_id")?;
        Ok((conversation_id, frame(kind, &fields)?))
    };
    match read() {
        Ok((conversation_id, frame)) => Ok(Incoming {
            request_id,
            conversation_id,
            frame,
        }),
        Err(e) => Err(reject(request_id, e)),
    }
}

/// The frame's `request_id`, if it has a usable one (`null` counts as none).
fn request_id_of(map: &Map<String, Value>) -> Result<Option<String>, FrameError> {
    match map.get("request_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_REQUEST_ID_LEN => Ok(Some(s.clone())),
        Some(_) => Err(FrameError::invalid(format!(
            "request_id must be a string of at most {MAX_REQUEST_ID_LEN} characters"
        ))),
    }
}

/// The frame's `type`: a type nobody sends is `unknown_type`, told apart from a known one
/// with a bad field (`invalid_request`).
fn frame_type(map: &Map<String, Value>) -> Result<&str, FrameError> {
    match map.get("type") {
        Some(Value::String(kind)) if CLIENT_TYPES.contains(&kind.as_str()) => Ok(kind),
        Some(Value::String(kind)) => {
            let shown: String = kind.chars().take(64).collect();
            let msg = format!("unknown frame type \"{shown}\"");
            Err(FrameError::new(ErrorCode::UnknownType, msg))
        }
        _ => Err(FrameError::invalid("frame needs a string \"type\"")),
    }
}

/// The frame of a known `type`, its fields read and checked. Unknown fields are ignored.
fn frame(kind: &str, f: &Fields) -> Result<ClientFrame, FrameError> {
    let message_id = || f.string("message_id");
    Ok(match kind {
        "ping" => ClientFrame::Ping {
            timestamp: f.opt_value("timestamp"),
        },
        "resume" => ClientFrame::Resume {
            since: f.u64("since")?,
        },
        "chat_message" => ClientFrame::ChatMessage(ChatMessageIn::read(f)?),
        "typing_indicator" | "typing" => ClientFrame::TypingIndicator {
            is_typing: f.bool("is_typing")?,
        },
        "read_receipt" => ClientFrame::ReadReceipt {
            message_id: message_id()?,
        },
        "message_reaction" => ClientFrame::MessageReaction {
            message_id: message_id()?,
            emoji: f.string("emoji")?,
        },
        "message_edit" => ClientFrame::MessageEdit {
            message_id: message_id()?,
            content: f.string("content")?,
        },
        "message_delete" => ClientFrame::MessageDelete {
            message_id: message_id()?,
        },
        "mark_read" => ClientFrame::MarkRead {
            notification_id: f.string("notification_id")?,
        },
        "mark_all_read" => ClientFrame::MarkAllRead {},
        "join_conversation" => ClientFrame::JoinConversation {
            conversation_id: f.string("conversation_id")?,
            since: f.opt_u64("since")?,
        },
        // frame_type lets only CLIENT_TYPES through.
        _ => ClientFrame::LeaveConversation {
            conversation_id: f.string("conversation_id")?,
        },
    })
}

/// Body of `POST /api/conversations/{id}/messages`: the message's fields beside `sender`,
/// an object with `id` and the profile fields (SPEC §5).
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePost {
    pub sender_id: String,
    pub profile: Profile,
    pub message: ChatMessageIn,
}

impl MessagePost {
    pub fn parse(body: &str) -> Result<Self, ApiError> {
        let unprocessable = |e: FrameError| ApiError::Unprocessable(e.message);
        let map = object(body).map_err(unprocessable)?;
        let body = Fields(&map);
        let sender = body.object("sender").map_err(unprocessable)?;
        let in_sender = |e: FrameError| ApiError::Unprocessable(format!("sender: {}", e.message));
        Ok(MessagePost {
            sender_id: sender.string("id").map_err(in_sender)?,
            profile: Profile::read(&sender).map_err(in_sender)?,
            message: ChatMessageIn::read(&body).map_err(unprocessable)?,
        })
    }
}

impl ChatMessageIn {
    /// A new message's fields: `content` (or `message`, as older clients send it) and the
    /// optional `parent_message_id` and `client_msg_id`.
    pub fn read(f: &Fields) -> Result<Self, FrameError> {
        let content = match (f.0.get("content"), f.0.get("message")) {
            (None, None) => return Err(missing("content")),
            (None, Some(_)) => f.string("message")?,
            (Some(_), _) => f.string("content")?,
        };
        Ok(ChatMessageIn {
            content,
            parent_message_id: f.opt_string("parent_message_id")?,
            client_msg_id: f.opt_string("client_msg_id")?,
        })
    }
}

/// A request body that must be a JSON object.
pub fn object(text: &str) -> Result<Map<String, Value>, FrameError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(FrameError::invalid("the body must be a JSON object")),
        Err(_) => Err(FrameError::invalid("the body is not valid JSON")),
    }
}

/// Typed reads of a JSON object's fields; the errors name the field (`invalid_request`).
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// A required object, to read the fields of.
    pub fn object(&self, name: &str) -> Result<Fields<'a>, FrameError> {
        match self.0.get(name) {
            Some(Value::Object(inner)) => Ok(Fields(inner)),
            Some(_) => Err(FrameError::invalid(format!("{name} must be an object"))),
            None => Err(missing(name)),
        }
    }

    /// A required string.
    pub fn string(&self, name: &str) -> Result<String, FrameError> {
        self.opt_string(name)?.ok_or_else(|| missing(name))
    }

    /// A string that may be absent or `null`.
    pub fn opt_string(&self, name: &str) -> Result<Option<String>, FrameError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong(name, "a string")),
        }
    }

    /// A required unsigned integer.
    pub fn u64(&self, name: &str) -> Result<u64, FrameError> {
        self.opt_u64(name)?.ok_or_else(|| missing(name))
    }

    /// An unsigned integer that may be absent or `null`.
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, FrameError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong(name, "an unsigned integer")),
        }
    }

    /// Any JSON value but `null`, or none.
    pub fn opt_value(&self, name: &str) -> Option<Value> {
        self.0.get(name).filter(|v| !v.is_null()).cloned()
    }

    /// An array of strings that may be absent or `null`.
    pub fn opt_strings(&self, name: &str) -> Result<Option<Vec<String>>, FrameError> {
        let Some(value) = self.0.get(name).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| wrong(name, "an array of strings"))?;
        let strings = items.iter().map(|v| v.as_str().map(String::from));
        let strings: Option<Vec<String>> = strings.collect();
        strings
            .map(Some)
            .ok_or_else(|| wrong(name, "an array of strings"))
    }

    /// Refuses a field not in `known` (a typo would otherwise be dropped silently).
    pub fn only(&self, known: &[&str]) -> Result<(), FrameError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => {
                let shown: String = k.chars().take(64).collect();
                let expected = known.join("`, `");
                let msg = format!("unknown field `{shown}`, expected one of `{expected}`");
                Err(FrameError::invalid(msg))
            }
        }
    }

    /// A required boolean.
    pub fn bool(&self, name: &str) -> Result<bool, FrameError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Err(missing(name)),
            Some(v) => v.as_bool().ok_or_else(|| wrong(name, "a boolean")),
        }
    }
}

/// serde's words for an absent field, as earlier versions answered.
fn missing(name: &str) -> FrameError {
    FrameError::invalid(format!("missing field `{name}`"))
}

fn wrong(name: &str, expected: &str) -> FrameError {
    FrameError::invalid(format!("invalid type for `{name}`: expected {expected}"))
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
