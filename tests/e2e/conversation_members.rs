//! Conversation membership and DMs (SPEC §3, §5): members only, removal closes with 4003,
//! the member list, a DM's fixed pair, and the room answering a client's close.

use serde_json::json;

use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{auth, join, room_with, say, users2};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("members::non_member_closes_4003", non_member_4003),
        trial("members::removal_closes_4003", removal_closes_4003),
        trial("members::list_members", list_members),
        trial("dm::both_users_in_third_4003", dm_rooms),
        trial("socket::client_close_is_answered", client_close_is_answered),
    ]
}

fn non_member_4003(s: &Server) -> TestResult {
    let room = room_with(s, &[&unique("ann")]);
    let mut ws = Ws::connect(&s.ws_url(&with_token(
        &format!("/ws/chat/{room}/"),
        &token(&unique("eve")),
    )))?;
    ws.expect_close(4003)?;
    Ok(())
}

fn removal_closes_4003(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (_wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let (status, body) = s.request(
        "DELETE",
        &format!("/api/conversations/{room}/members/{b}"),
        &[("Authorization", &auth())],
        None,
    );
    assert_eq!(status, 200, "{body}");
    wb.expect_close(4003)?;
    let mut again = Ws::connect(&s.ws_url(&with_token(&format!("/ws/chat/{room}/"), &token(&b))))?;
    again.expect_close(4003)?;
    Ok(())
}

fn list_members(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (status, body) = s.get(
        &format!("/api/conversations/{room}/members"),
        Some(&api_key()),
    );
    assert_eq!(status, 200);
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(body["members"], json!(want));
    Ok(())
}

fn dm_rooms(s: &Server) -> TestResult {
    let (a, b) = users2();
    let mut wa = Ws::connect(&s.ws_url(&with_token(&format!("/ws/dm/{b}/"), &token(&a))))?;
    let hello = wa.recv_type("connection.established")?;
    let conv = hello["conversation_id"].as_str().unwrap().to_string();
    let mut wb = Ws::connect(&s.ws_url(&with_token(&format!("/ws/dm/{a}/"), &token(&b))))?;
    assert_eq!(
        wb.recv_type("connection.established")?["conversation_id"],
        conv.as_str(),
        "one room for both"
    );
    say(&mut wa, "psst")?;
    assert_eq!(wb.recv_until("chat_message")?["message"]["content"], "psst");
    let mut eve = Ws::connect(&s.ws_url(&with_token(
        &format!("/ws/chat/{conv}/"),
        &token(&unique("eve")),
    )))?;
    eve.expect_close(4003)?;
    let (status, _) = s.request(
        "PUT",
        &format!("/api/conversations/{conv}/members/x"),
        &[("Authorization", &auth())],
        None,
    );
    assert_eq!(status, 409, "DM membership is fixed");
    Ok(())
}

fn client_close_is_answered(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    assert_eq!(
        wa.close_handshake()?,
        1000,
        "the room answers the client's close"
    );
    let mut inbox = Ws::connect(&s.ws_url(&with_token("/ws/notifications/", &token(&a))))?;
    inbox.recv_type("connection.established")?;
    assert_eq!(inbox.close_handshake()?, 1000, "so does the inbox");
    Ok(())
}
