//! Golden JSON: the exact shape of every frame in the contract.

use super::*;
use serde_json::json;

const TS: &str = "2026-11-22T10:00:00.000Z";

fn golden(frame: ServerFrame, want: &str) {
    assert_eq!(frame.to_text(), want);
}

fn sender() -> Sender {
    Sender {
        id: "u1".into(),
        username: Some("ann".into()),
        name: Some("Ann".into()),
        email: None,
        first_name: None,
        last_name: None,
        avatar: None,
    }
}

fn message() -> MessageView {
    MessageView {
        id: "m1".into(),
        seq: 3,
        conversation_id: "c1".into(),
        content: Some("hi".into()),
        sender: sender(),
        parent_message_id: None,
        client_msg_id: Some("k1".into()),
        created_at: TS.into(),
        is_edited: false,
        is_deleted: false,
    }
}

#[test]
fn connection_established_per_endpoint() {
    let conv = Established {
        user_id: "u1".into(),
        user_name: "Ann".into(),
        last_seq: 4,
        conversation_id: Some("c1".into()),
        presence: Some(vec![PresenceEntry {
            user_id: "u1".into(),
            user_name: "Ann".into(),
            devices: 2,
        }]),
        ..Default::default()
    };
    golden(
        ServerFrame::ConnectionEstablished(conv),
        r#"{"type":"connection.established","user_id":"u1","user_name":"Ann","last_seq":4,"conversation_id":"c1","presence":[{"user_id":"u1","user_name":"Ann","devices":2}]}"#,
    );
    let inbox = Established {
        user_id: "u1".into(),
        user_name: "u1".into(),
        unread_count: Some(2),
        ..Default::default()
    };
    golden(
        ServerFrame::ConnectionEstablished(inbox),
        r#"{"type":"connection.established","user_id":"u1","user_name":"u1","last_seq":0,"unread_count":2}"#,
    );
    let org = Established {
        user_id: "u1".into(),
        user_name: "u1".into(),
        last_seq: 9,
        org_id: Some("acme".into()),
        online: Some(vec!["u1".into()]),
        ..Default::default()
    };
    golden(
        ServerFrame::ConnectionEstablished(org),
        r#"{"type":"connection.established","user_id":"u1","user_name":"u1","last_seq":9,"org_id":"acme","online":["u1"]}"#,
    );
}

#[test]
fn control_frames() {
    golden(
        ServerFrame::Pong {
            timestamp: Some(json!(12345)),
        },
        r#"{"type":"pong","timestamp":12345}"#,
    );
    golden(ServerFrame::Pong { timestamp: None }, PONG_TEXT);
    golden(
        ServerFrame::error(
            FrameError::new(ErrorCode::InvalidJson, "frame is not valid JSON"),
            None,
        ),
        r#"{"type":"error","code":"invalid_json","message":"frame is not valid JSON"}"#,
    );
    golden(
        ServerFrame::error(
            FrameError::new(ErrorCode::RateLimited, "slow down"),
            Some("r1".into()),
        ),
        r#"{"type":"error","code":"rate_limited","message":"slow down","request_id":"r1"}"#,
    );
    golden(
        ServerFrame::Ack {
            request_id: Some("r1".into()),
            message_id: Some("m1".into()),
            seq: Some(3),
        },
        r#"{"type":"ack","request_id":"r1","message_id":"m1","seq":3}"#,
    );
    golden(
        ServerFrame::Resumed {
            since: 2,
            last_seq: 7,
        },
        r#"{"type":"resumed","since":2,"last_seq":7}"#,
    );
    golden(
        ServerFrame::ResyncRequired { last_seq: 7 },
        r#"{"type":"resync_required","last_seq":7}"#,
    );
}

#[test]
fn conversation_frames() {
    golden(
        ServerFrame::ChatMessage {
            seq: 3,
            message: message(),
        },
        r#"{"type":"chat_message","seq":3,"message":{"id":"m1","seq":3,"conversation_id":"c1","content":"hi","sender":{"id":"u1","username":"ann","name":"Ann","email":null,"first_name":null,"last_name":null,"avatar":null},"parent_message_id":null,"client_msg_id":"k1","created_at":"2026-11-22T10:00:00.000Z","is_edited":false}}"#,
    );
    let deleted = MessageView {
        content: None,
        is_deleted: true,
        ..message()
    };
    let text = ServerFrame::ChatMessage {
        seq: 3,
        message: deleted,
    }
    .to_text();
    assert!(
        text.contains(r#""content":null"#)
            && text.ends_with(r#""is_edited":false,"is_deleted":true}}"#)
    );
    golden(
        ServerFrame::TypingIndicator {
            user_id: "u1".into(),
            user_name: "Ann".into(),
            is_typing: true,
            timestamp: TS.into(),
        },
        r#"{"type":"typing_indicator","user_id":"u1","user_name":"Ann","is_typing":true,"timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
    golden(
        ServerFrame::ReadReceipt {
            seq: 4,
            message_id: "m1".into(),
            user_id: "u2".into(),
            timestamp: TS.into(),
        },
        r#"{"type":"read_receipt","seq":4,"message_id":"m1","user_id":"u2","timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
    golden(
        ServerFrame::MessageReaction {
            seq: 5,
            message_id: "m1".into(),
            emoji: "👍".into(),
            user_id: "u2".into(),
            action: ReactionAction::Added,
            timestamp: TS.into(),
        },
        r#"{"type":"message_reaction","seq":5,"message_id":"m1","emoji":"👍","user_id":"u2","action":"added","timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
    golden(
        ServerFrame::MessageEdit {
            seq: 6,
            message_id: "m1".into(),
            content: Some("hey".into()),
            edited_at: TS.into(),
            timestamp: TS.into(),
        },
        r#"{"type":"message_edit","seq":6,"message_id":"m1","content":"hey","edited_at":"2026-11-22T10:00:00.000Z","timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
    golden(
        ServerFrame::MessageDelete {
            seq: 7,
            message_id: "m1".into(),
            timestamp: TS.into(),
        },
        r#"{"type":"message_delete","seq":7,"message_id":"m1","timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
    golden(
        ServerFrame::user_status("u1", ("ann", "Ann"), true, TS.into()),
        r#"{"type":"user_status","user_id":"u1","username":"ann","user_name":"Ann","status":"online","online_status":true,"timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
    golden(
        ServerFrame::user_status("u1", ("ann", "Ann"), false, TS.into()),
        r#"{"type":"user_status","user_id":"u1","username":"ann","user_name":"Ann","status":"offline","online_status":false,"timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
    golden(
        ServerFrame::PresenceUpdate {
            users: vec![
                ServerFrame::user_status("u1", ("ann", "Ann"), true, TS.into()),
                ServerFrame::user_status("u2", ("bob", "Bob"), false, TS.into()),
            ],
        },
        concat!(
            r#"{"type":"presence_update","users":["#,
            r#"{"type":"user_status","user_id":"u1","username":"ann","user_name":"Ann","status":"online","online_status":true,"timestamp":"2026-11-22T10:00:00.000Z"},"#,
            r#"{"type":"user_status","user_id":"u2","username":"bob","user_name":"Bob","status":"offline","online_status":false,"timestamp":"2026-11-22T10:00:00.000Z"}]}"#
        ),
    );
}

#[test]
fn notification_and_org_frames() {
    let n = NotificationView {
        id: "n1".into(),
        notification_type: "mention".into(),
        title: Some("Hi".into()),
        body: None,
        message: None,
        actor: json!({"id": "u2"}),
        data: json!({"k": 1}),
        read: false,
        created_at: TS.into(),
    };
    golden(
        ServerFrame::Notification {
            seq: 1,
            notification: n,
        },
        r#"{"type":"notification","seq":1,"notification":{"id":"n1","notification_type":"mention","title":"Hi","body":null,"message":null,"actor":{"id":"u2"},"data":{"k":1},"read":false,"created_at":"2026-11-22T10:00:00.000Z"}}"#,
    );
    golden(
        ServerFrame::UnreadCount { count: 2 },
        r#"{"type":"unread_count","count":2}"#,
    );
    golden(
        ServerFrame::NotificationRead {
            seq: 2,
            notification_ids: vec!["n1".into()],
            all: false,
            up_to_seq: None,
        },
        r#"{"type":"notification_read","seq":2,"notification_ids":["n1"]}"#,
    );
    golden(
        ServerFrame::NotificationRead {
            seq: 9,
            notification_ids: vec![],
            all: true,
            up_to_seq: Some(8),
        },
        r#"{"type":"notification_read","seq":9,"notification_ids":[],"all":true,"up_to_seq":8}"#,
    );
    golden(
        ServerFrame::Event {
            seq: 1,
            id: "e1".into(),
            event_type: "deploy".into(),
            data: json!({"v": 2}),
            timestamp: TS.into(),
        },
        r#"{"type":"event","seq":1,"id":"e1","event_type":"deploy","data":{"v":2},"timestamp":"2026-11-22T10:00:00.000Z"}"#,
    );
}

#[test]
fn decodes_every_client_frame() {
    let cases = [
        (
            r#"{"type":"ping","timestamp":5}"#,
            ClientFrame::Ping {
                timestamp: Some(json!(5)),
            },
        ),
        (
            r#"{"type":"resume","since":3}"#,
            ClientFrame::Resume { since: 3 },
        ),
        (
            r#"{"type":"typing","is_typing":true}"#,
            ClientFrame::TypingIndicator { is_typing: true },
        ),
        (
            r#"{"type":"typing_indicator","is_typing":false}"#,
            ClientFrame::TypingIndicator { is_typing: false },
        ),
        (
            r#"{"type":"read_receipt","message_id":"m"}"#,
            ClientFrame::ReadReceipt {
                message_id: "m".into(),
            },
        ),
        (
            r#"{"type":"message_reaction","message_id":"m","emoji":"x"}"#,
            ClientFrame::MessageReaction {
                message_id: "m".into(),
                emoji: "x".into(),
            },
        ),
        (
            r#"{"type":"message_edit","message_id":"m","content":"c"}"#,
            ClientFrame::MessageEdit {
                message_id: "m".into(),
                content: "c".into(),
            },
        ),
        (
            r#"{"type":"message_delete","message_id":"m"}"#,
            ClientFrame::MessageDelete {
                message_id: "m".into(),
            },
        ),
        (
            r#"{"type":"mark_read","notification_id":"n"}"#,
            ClientFrame::MarkRead {
                notification_id: "n".into(),
            },
        ),
        (r#"{"type":"mark_all_read"}"#, ClientFrame::MarkAllRead {}),
        (
            r#"{"type":"join_conversation","conversation_id":"c1","since":4}"#,
            ClientFrame::JoinConversation {
                conversation_id: "c1".into(),
                since: Some(4),
            },
        ),
        (
            r#"{"type":"join_conversation","conversation_id":"c1"}"#,
            ClientFrame::JoinConversation {
                conversation_id: "c1".into(),
                since: None,
            },
        ),
        (
            r#"{"type":"leave_conversation","conversation_id":"c1"}"#,
            ClientFrame::LeaveConversation {
                conversation_id: "c1".into(),
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(decode(text).unwrap().frame, want, "{text}");
    }
}

#[test]
fn chat_message_accepts_message_alias_and_ignores_unknown_fields() {
    let got = decode(
        r#"{"type":"chat_message","message":"hi","extra":1,"request_id":"r9","client_msg_id":"k"}"#,
    )
    .unwrap();
    assert_eq!(got.request_id.as_deref(), Some("r9"));
    let ClientFrame::ChatMessage(m) = got.frame else {
        panic!("not a chat message")
    };
    assert_eq!(
        (m.content.as_str(), m.client_msg_id.as_deref()),
        ("hi", Some("k"))
    );
}

#[test]
fn decode_errors_are_typed_and_keep_the_request_id() {
    let code = |t: &str| decode(t).unwrap_err().error.code;
    assert_eq!(code("{nope"), ErrorCode::InvalidJson);
    assert_eq!(code("[1,2]"), ErrorCode::InvalidRequest);
    assert_eq!(code(r#"{"type":"dance"}"#), ErrorCode::UnknownType);
    assert_eq!(code(r#"{"kind":"ping"}"#), ErrorCode::InvalidRequest);
    assert_eq!(
        code(r#"{"type":"ping","request_id":7}"#),
        ErrorCode::InvalidRequest
    );
    let long = format!(r#"{{"type":"ping","request_id":"{}"}}"#, "r".repeat(65));
    assert_eq!(code(&long), ErrorCode::InvalidRequest);
    let missing = decode(r#"{"type":"chat_message","request_id":"r1"}"#).unwrap_err();
    assert_eq!(missing.error.code, ErrorCode::InvalidRequest);
    assert_eq!(missing.request_id.as_deref(), Some("r1"));
    assert!(
        missing.error.message.contains("content"),
        "{}",
        missing.error.message
    );
    let wrong = decode(r#"{"type":"typing","is_typing":"yes"}"#).unwrap_err();
    assert_eq!(wrong.error.code, ErrorCode::InvalidRequest);
    assert!(
        !wrong.error.message.contains("line"),
        "no parser positions: {}",
        wrong.error.message
    );
}

#[test]
fn decode_echoes_the_request_id_on_type_errors_but_not_an_unusable_one() {
    let unknown = decode(r#"{"type":"dance","request_id":"r2"}"#).unwrap_err();
    assert_eq!(unknown.error.code, ErrorCode::UnknownType);
    assert_eq!(unknown.request_id.as_deref(), Some("r2"));
    assert_eq!(unknown.error.message, r#"unknown frame type "dance""#);
    let untyped = decode(r#"{"type":3,"request_id":"r3"}"#).unwrap_err();
    assert_eq!(untyped.error.code, ErrorCode::InvalidRequest);
    assert_eq!(untyped.request_id.as_deref(), Some("r3"));
    let bad_id = decode(r#"{"type":"dance","request_id":7}"#).unwrap_err();
    assert_eq!(bad_id.error.code, ErrorCode::InvalidRequest, "id first");
    assert_eq!(bad_id.request_id, None);
    let null_id = decode(r#"{"type":"ping","request_id":null}"#).unwrap();
    assert_eq!(null_id.request_id, None);
}

#[test]
fn session_frames() {
    let session = Established {
        user_id: "u1".into(),
        user_name: "Ann".into(),
        last_seq: 2,
        unread_count: Some(1),
        conversations: Some(vec![]),
        ..Default::default()
    };
    golden(
        ServerFrame::ConnectionEstablished(session),
        r#"{"type":"connection.established","user_id":"u1","user_name":"Ann","last_seq":2,"unread_count":1,"conversations":[]}"#,
    );
    golden(
        ServerFrame::Joined {
            conversation_id: "c1".into(),
            last_seq: 7,
            presence: vec![PresenceEntry {
                user_id: "u1".into(),
                user_name: "Ann".into(),
                devices: 1,
            }],
        },
        r#"{"type":"joined","conversation_id":"c1","last_seq":7,"presence":[{"user_id":"u1","user_name":"Ann","devices":1}]}"#,
    );
    golden(
        ServerFrame::Left {
            conversation_id: "c1".into(),
            reason: None,
        },
        r#"{"type":"left","conversation_id":"c1"}"#,
    );
    golden(
        ServerFrame::Left {
            conversation_id: "c1".into(),
            reason: Some("removed".into()),
        },
        r#"{"type":"left","conversation_id":"c1","reason":"removed"}"#,
    );
}

#[test]
fn a_session_frame_names_its_conversation() {
    let got = decode(r#"{"type":"chat_message","content":"hi","conversation_id":"c2"}"#).unwrap();
    assert_eq!(got.conversation_id.as_deref(), Some("c2"));
    assert!(got.frame.is_conversation_frame());
    assert_eq!(decode(r#"{"type":"ping"}"#).unwrap().conversation_id, None);
    let bad = decode(r#"{"type":"typing","is_typing":true,"conversation_id":5,"request_id":"r"}"#)
        .unwrap_err();
    assert_eq!(bad.error.code, ErrorCode::InvalidRequest);
    assert_eq!(bad.request_id.as_deref(), Some("r"));
    let join = decode(r#"{"type":"join_conversation","conversation_id":"c1"}"#).unwrap();
    assert!(!join.frame.is_conversation_frame());
}
