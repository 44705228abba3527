//! Unit tests of the hand-written decoding: each field's error names it, the message API
//! body keeps the sender apart from the message, and unknown fields are ignored in frames.

use super::*;

/// Beyond `protocol_tests::decodes_every_client_frame`: what serde's derive did implicitly.
#[test]
fn null_is_absent_unknown_fields_are_ignored_and_message_is_content() {
    let cases = [
        (
            r#"{"type":"ping","timestamp":null}"#,
            ClientFrame::Ping { timestamp: None },
        ),
        (
            r#"{"type":"typing_indicator","is_typing":false,"extra":1}"#,
            ClientFrame::TypingIndicator { is_typing: false },
        ),
        (
            r#"{"type":"join_conversation","conversation_id":"c1","since":null}"#,
            ClientFrame::JoinConversation {
                conversation_id: "c1".into(),
                since: None,
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(decode(text).unwrap().frame, want, "{text}");
    }
    let old = decode(r#"{"type":"chat_message","message":"hi","parent_message_id":"p"}"#).unwrap();
    let ClientFrame::ChatMessage(m) = old.frame else {
        panic!("not a chat message");
    };
    assert_eq!(
        (m.content.as_str(), m.parent_message_id.as_deref()),
        ("hi", Some("p"))
    );
}

#[test]
fn field_errors_name_the_field() {
    let message = |text: &str| decode(text).unwrap_err().error.message;
    assert_eq!(message(r#"{"type":"resume"}"#), "missing field `since`");
    assert_eq!(
        message(r#"{"type":"resume","since":-1}"#),
        "invalid type for `since`: expected an unsigned integer"
    );
    assert_eq!(
        message(r#"{"type":"typing","is_typing":"yes"}"#),
        "invalid type for `is_typing`: expected a boolean"
    );
    assert_eq!(
        message(r#"{"type":"read_receipt","message_id":7}"#),
        "invalid type for `message_id`: expected a string"
    );
    assert_eq!(
        message(r#"{"type":"chat_message"}"#),
        "missing field `content`"
    );
    assert_eq!(
        message(r#"{"type":"chat_message","message":1}"#),
        "invalid type for `message`: expected a string"
    );
    assert_eq!(
        message(r#"{"type":"chat_message","content":1}"#),
        "invalid type for `content`: expected a string"
    );
    assert_eq!(
        message(r#"{"type":"chat_message","content":"x","client_msg_id":[]}"#),
        "invalid type for `client_msg_id`: expected a string"
    );
}

#[test]
fn the_message_api_body_keeps_the_sender_apart() {
    let post = MessagePost::parse(
        r#"{"sender":{"id":"al","name":"Al","avatar":null},"content":"hi","client_msg_id":"k"}"#,
    )
    .unwrap();
    assert_eq!(post.sender_id, "al");
    assert_eq!(
        (post.profile.name.as_deref(), post.profile.avatar),
        (Some("Al"), None)
    );
    assert_eq!(
        (
            post.message.content.as_str(),
            post.message.client_msg_id.as_deref()
        ),
        ("hi", Some("k"))
    );
    let message = |text: &str| match MessagePost::parse(text).unwrap_err() {
        ApiError::Unprocessable(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(message("nope"), "the body is not valid JSON");
    assert_eq!(message("[]"), "the body must be a JSON object");
    assert_eq!(message(r#"{"content":"hi"}"#), "missing field `sender`");
    assert_eq!(
        message(r#"{"sender":"al","content":"hi"}"#),
        "sender must be an object"
    );
    assert_eq!(
        message(r#"{"sender":{},"content":"hi"}"#),
        "sender: missing field `id`"
    );
    assert_eq!(
        message(r#"{"sender":{"id":"al","name":5},"content":"hi"}"#),
        "sender: invalid type for `name`: expected a string"
    );
    assert_eq!(
        message(r#"{"sender":{"id":"al"}}"#),
        "missing field `content`"
    );
}

#[test]
fn only_and_string_lists() {
    let map = serde_json::json!({"a": ["x", "y"], "b": ["x", 1], "c": null});
    let f = Fields(map.as_object().unwrap());
    assert_eq!(
        f.opt_strings("a").unwrap(),
        Some(vec!["x".to_string(), "y".to_string()])
    );
    assert_eq!(f.opt_strings("c").unwrap(), None);
    assert_eq!(
        f.opt_strings("b").unwrap_err().message,
        "invalid type for `b`: expected an array of strings"
    );
    assert!(f.only(&["a", "b", "c"]).is_ok());
    assert_eq!(
        f.only(&["a", "b"]).unwrap_err().message,
        "unknown field `c`, expected one of `a`, `b`"
    );
}
