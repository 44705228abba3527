//! HTTP routing (SPEC §2): health, JSON 404s, 426 without an upgrade, malformed ids, and
//! development tokens (`GET /dev/token`).

use serde_json::json;

use crate::common::{error_code, token, trial, unique, with_token, Server, TestResult, Ws};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    trials![
        "http" => [
            healthz_is_ok,
            unknown_path_is_json_404,
            unknown_ws_path_is_json_404,
            ws_path_without_upgrade_is_426,
            malformed_id_is_400,
            dev_token_signs_and_joins,
            dev_token_refuses_bad_parameters,
        ],
    ]
}

// ---------------------------------------------------------------- routing

fn healthz_is_ok(s: &Server) -> TestResult {
    assert_eq!(s.get("/healthz", None), (200, json!({"ok": true})));
    Ok(())
}

fn unknown_path_is_json_404(s: &Server) -> TestResult {
    let (status, body) = s.get("/nope", None);
    assert_eq!(status, 404, "body: {body}");
    assert_eq!(error_code(&body)?, "not_found");
    Ok(())
}

fn unknown_ws_path_is_json_404(s: &Server) -> TestResult {
    // (`/ws/nope/` would be the DM alias of SPEC §9: a one-segment path is a user id.)
    let (status, body) = s.get("/ws/nope/x/", None);
    assert_eq!(status, 404, "body: {body}");
    assert_eq!(error_code(&body)?, "not_found");
    Ok(())
}

fn ws_path_without_upgrade_is_426(s: &Server) -> TestResult {
    let (status, body) = s.get(&with_token("/ws/chat/x/", &token("alice")), None);
    assert_eq!(status, 426, "body: {body}");
    assert_eq!(error_code(&body)?, "upgrade_required", "{body}");
    Ok(())
}

fn malformed_id_is_400(s: &Server) -> TestResult {
    let (status, body) = s.get("/ws/chat/bad%20id/", Some(&token("alice")));
    assert_eq!(status, 400, "body: {body}");
    assert_eq!(error_code(&body)?, "bad_request", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("id must be"), "names the id rule: {body}");
    Ok(())
}

// ---------------------------------------------------------------- development tokens

/// `GET /dev/token` (`DEV_TOKENS=1` in `.dev.vars`): the token opens the joined room under
/// the given name (a non-member would be closed with 4003) and the orgs it names.
fn dev_token_signs_and_joins(s: &Server) -> TestResult {
    let (user, room, org) = (unique("dev"), unique("room"), unique("acme"));
    let path = format!("/dev/token?user={user}&name=Dev%20User&orgs={org},%20other&join={room}");
    let (status, body) = s.get(&path, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], user.as_str(), "{body}");
    let t = body["token"].as_str().ok_or("no token in the answer")?;
    let mut ws = Ws::connect(&s.ws_url(&with_token(&format!("/ws/chat/{room}/"), t)))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["user_id"], user.as_str(), "{hello}");
    assert_eq!(hello["user_name"], "Dev User", "{hello}");
    let mut ws = Ws::connect(&s.ws_url(&with_token(&format!("/ws/events/{org}/"), t)))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["org_id"], org.as_str(), "{hello}");
    Ok(())
}

fn dev_token_refuses_bad_parameters(s: &Server) -> TestResult {
    let user = unique("dev");
    for path in [
        "/dev/token".to_string(),
        "/dev/token?user=a%20b".to_string(),
        format!("/dev/token?user={user}&orgs=ok,b%20d"),
        format!("/dev/token?user={user}&join=a%20b"),
    ] {
        let (status, body) = s.get(&path, None);
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(error_code(&body)?, "bad_request", "{path}: {body}");
    }
    let (status, body) = s.post_json(&format!("/dev/token?user={user}"), None, &json!({}));
    assert_eq!(status, 405, "{body}");
    assert_eq!(error_code(&body)?, "method_not_allowed", "{body}");
    Ok(())
}
