//! Identifiers: validation of ids from paths and tokens, and the typed names of the
//! Durable Objects they map to.
//!
//! Every object name carries a prefix (`conversation:`, `dm:`, `user:`, `org:`) so that a
//! conversation and an organization that happen to share an id never share an object.

use std::fmt;

/// Longest id accepted anywhere (conversation, user, org, message ids from clients).
pub const MAX_ID_LEN: usize = 128;

/// Why an id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id must be 1-{MAX_ID_LEN} characters of A-Z a-z 0-9 _ . : -")]
    Malformed,
    #[error("a direct-message peer id may not contain ':'")]
    DmColon,
    #[error("a direct-message conversation needs two different users")]
    DmSelf,
}

/// A validated id: 1–128 characters of `[A-Za-z0-9_.:-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);

impl Id {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_ID_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if ok {
            Ok(Id(raw.to_owned()))
        } else {
            Err(IdError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The conversation id of the direct chat between two users: `dm:{a}:{b}` with the ids sorted.
///
/// Ids containing `:` are refused here because `dm:a:b:c` could then name two different pairs.
pub fn dm_conversation_id(me: &Id, peer: &Id) -> Result<Id, IdError> {
    if me.0.contains(':') || peer.0.contains(':') {
        return Err(IdError::DmColon);
    }
    if me == peer {
        return Err(IdError::DmSelf);
    }
    let (a, b) = if me < peer { (me, peer) } else { (peer, me) };
    Id::parse(&format!("dm:{a}:{b}"))
}

/// The two members of a `dm:{a}:{b}` conversation id, or `None` for an ordinary conversation.
pub fn dm_members(conversation: &Id) -> Option<(String, String)> {
    let rest = conversation.0.strip_prefix("dm:")?;
    let (a, b) = rest.split_once(':')?;
    (!a.is_empty() && !b.is_empty() && !b.contains(':') && a < b).then(|| (a.into(), b.into()))
}

/// Which Durable Object class serves a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectClass {
    ConversationRoom,
    UserInbox,
    OrgHub,
}

impl ObjectClass {
    /// The binding name in `wrangler.toml`.
    pub fn binding(self) -> &'static str {
        match self {
            ObjectClass::ConversationRoom => "CONVERSATION_ROOM",
            ObjectClass::UserInbox => "USER_INBOX",
            ObjectClass::OrgHub => "ORG_HUB",
        }
    }
}

/// The org id of the app-wide online hub (`/ws/online/`).
pub const ONLINE_ORG: &str = "_online";

/// One stream, i.e. one Durable Object instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamKey {
    /// A conversation; ids of the form `dm:{a}:{b}` are direct chats.
    Conversation(Id),
    User(Id),
    Org(Id),
}

impl StreamKey {
    pub fn class(&self) -> ObjectClass {
        match self {
            StreamKey::Conversation(_) => ObjectClass::ConversationRoom,
            StreamKey::User(_) => ObjectClass::UserInbox,
            StreamKey::Org(_) => ObjectClass::OrgHub,
        }
    }

    /// The name given to `id_from_name`.
    pub fn object_name(&self) -> String {
        match self {
            StreamKey::Conversation(id) if dm_members(id).is_some() => id.to_string(),
            StreamKey::Conversation(id) => format!("conversation:{id}"),
            StreamKey::User(id) => format!("user:{id}"),
            StreamKey::Org(id) => format!("org:{id}"),
        }
    }

    /// The id the stream is known by in frames and the HTTP API.
    pub fn id(&self) -> &Id {
        match self {
            StreamKey::Conversation(id) | StreamKey::User(id) | StreamKey::Org(id) => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(Id::parse("Room_1.a:b-c").is_ok());
        assert!(Id::parse(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        for bad in ["", "a b", "a/b", "é", "a%20", "<script>", &"x".repeat(129)] {
            assert_eq!(Id::parse(bad), Err(IdError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn dm_ids_are_sorted_and_symmetric() {
        let (a, b) = (Id::parse("bob").unwrap(), Id::parse("alice").unwrap());
        let ab = dm_conversation_id(&a, &b).unwrap();
        assert_eq!(ab.as_str(), "dm:alice:bob");
        assert_eq!(dm_conversation_id(&b, &a).unwrap(), ab);
        assert_eq!(dm_members(&ab), Some(("alice".into(), "bob".into())));
    }

    #[test]
    fn dm_refuses_colons_and_self() {
        let (a, c) = (Id::parse("a").unwrap(), Id::parse("b:c").unwrap());
        assert_eq!(dm_conversation_id(&a, &c), Err(IdError::DmColon));
        assert_eq!(dm_conversation_id(&a, &a), Err(IdError::DmSelf));
    }

    #[test]
    fn unsorted_or_malformed_dm_ids_are_ordinary_conversations() {
        for id in ["dm:bob:alice", "dm:a", "dm::b", "dm:a:b:c", "general"] {
            assert_eq!(dm_members(&Id::parse(id).unwrap()), None, "{id}");
        }
    }

    #[test]
    fn object_names_are_prefixed_by_kind() {
        let id = Id::parse("42").unwrap();
        assert_eq!(
            StreamKey::Conversation(id.clone()).object_name(),
            "conversation:42"
        );
        assert_eq!(StreamKey::User(id.clone()).object_name(), "user:42");
        assert_eq!(StreamKey::Org(id).object_name(), "org:42");
        let dm = Id::parse("dm:a:b").unwrap();
        assert_eq!(StreamKey::Conversation(dm).object_name(), "dm:a:b");
    }
}
