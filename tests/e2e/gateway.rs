//! The stateless Worker's own behaviour: `GET /healthz?deep=1`, configuration problems
//! reported and logged once, API bodies refused by size before and after reading (SPEC §5),
//! and identity from existing auth systems (SPEC §8: SimpleJWT's integer `user_id`,
//! refresh tokens refused, OIDC profile names).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{
    api_key, error_code, token_with, trial, tuned_server, unique, with_token, Server, TestResult,
    Ws,
};
use crate::conversation_limits::VARS as TUNED_VARS;
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "gateway::health::deep_reports_d1_and_problem_names",
            deep_health,
        ),
        trial(
            "gateway::health::bad_var_is_reported_and_logged_once",
            |_| bad_var_reported(tuned_server(TUNED_VARS)),
        ),
        trial(
            "gateway::body::content_length_over_limit_is_413",
            declared_too_large,
        ),
        trial(
            "gateway::body::chunked_body_over_limit_is_413",
            chunked_too_large,
        ),
        trial(
            "gateway::identity::integer_user_id_without_sub_opens_inbox",
            integer_user_id,
        ),
        trial(
            "gateway::identity::refresh_token_is_refused",
            refresh_token_refused,
        ),
        trial(
            "gateway::identity::oidc_profile_names_fill_in",
            oidc_profile,
        ),
    ]
}

// ---------------------------------------------------------------- health

/// The shared server runs with `.dev.vars` (DEV_TOKENS on): D1 answers, and the only
/// problem is that switch, named without any value.
fn deep_health(s: &Server) -> TestResult {
    let (status, body) = s.get("/healthz?deep=1", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["ok"], &body["d1"]),
        (&json!(true), &json!("ok")),
        "{body}"
    );
    assert_eq!(
        body["problems"],
        json!([{"var": "DEV_TOKENS", "kind": "development_only"}]),
        "{body}"
    );
    assert_eq!(
        s.get("/healthz", None),
        (200, json!({"ok": true})),
        "plain stays plain"
    );
    Ok(())
}

/// The tuned server has `MAX_FRAME_BYTES=lots`: reported by name and kind, and logged once
/// per isolate with what was wrong, however many requests follow.
fn bad_var_reported(s: &Server) -> TestResult {
    for _ in 0..3 {
        let (status, body) = s.get("/healthz?deep=1", None);
        assert_eq!(status, 200, "{body}");
        let problems = body["problems"].as_array().ok_or("no problems list")?;
        let bad = json!({"var": "MAX_FRAME_BYTES", "kind": "unparsable"});
        assert!(problems.contains(&bad), "{body}");
        assert!(
            !body.to_string().contains("lots"),
            "no values in the report: {body}"
        );
    }
    let line =
        r#"configuration: MAX_FRAME_BYTES="lots" is not a number; the default 65536 is used"#;
    let log = wait_for_log(s, line)?;
    assert_eq!(
        log.matches(line).count(),
        1,
        "logged once per isolate:\n{log}"
    );
    Ok(())
}

/// The wrangler log holding `line` (the Worker's console output reaches it shortly after).
pub fn wait_for_log(s: &Server, line: &str) -> Result<String, String> {
    for _ in 0..40 {
        let log = s.log_tail(10_000);
        if log.contains(line) {
            return Ok(log);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "not in the wrangler log: {line}\n{}",
        s.log_tail(40)
    ))
}

// ---------------------------------------------------------------- body size

/// Sends `head` (request line and headers, without the blank line) and `body` on a raw
/// connection (ureq cannot send a chunked body) and returns the status and the JSON body.
fn raw_request(s: &Server, head: &str, body: &[u8]) -> Result<(u16, Value), String> {
    let addr = s.url("").trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).map_err(|e| format!("connect {addr}: {e}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let auth = format!("Authorization: Bearer {}", api_key());
    let request = format!("{head}\r\nHost: {addr}\r\n{auth}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes())
        .and_then(|()| conn.write_all(body))
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) if !answer.is_empty() => break,
            Err(e) => return Err(format!("no answer: {e}")),
        }
        if complete(&answer) {
            break;
        }
    }
    parse_answer(&String::from_utf8_lossy(&answer))
}

/// True once a response with a `Content-Length` has all of its body.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .is_some_and(|n| body.len() >= n)
}

fn parse_answer(text: &str) -> Result<(u16, Value), String> {
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no response head")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let json_start = body.find('{').unwrap_or(body.len());
    let json_end = body.rfind('}').map_or(json_start, |i| i + 1);
    let value = serde_json::from_str(&body[json_start..json_end]).unwrap_or(Value::Null);
    Ok((status, value))
}

/// A body whose `Content-Length` is over 64 KiB is refused with 413 (the Worker decides on
/// the header alone; `wrangler dev`'s local proxy delivers the whole body first, so that
/// it is never read is shown by the unit test and a bare workerd, not here).
fn declared_too_large(s: &Server) -> TestResult {
    let org = unique("acme");
    let big = json!({"event_type": "big", "data": {"pad": "x".repeat(70_000)}}).to_string();
    let auth = format!("Bearer {}", api_key());
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let path = format!("/api/orgs/{org}/events");
    let (status, body) = s.request("POST", &path, &headers, Some(&big));
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_code(&body)?, "payload_too_large", "{body}");
    let small = json!({"event_type": "small", "data": {}}).to_string();
    let (status, body) = s.request("POST", &path, &headers, Some(&small));
    assert_eq!(status, 201, "a small body passes: {body}");
    assert_eq!(body["seq"], 1, "the refused one was not stored: {body}");
    Ok(())
}

/// A chunked body announces no size: it is read, then refused for being over 64 KiB.
fn chunked_too_large(s: &Server) -> TestResult {
    let org = unique("acme");
    let head = format!(
        "POST /api/orgs/{org}/events HTTP/1.1\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked"
    );
    let json = json!({"event_type": "big", "data": {"pad": "x".repeat(70_000)}}).to_string();
    let mut chunked = Vec::new();
    for piece in json.as_bytes().chunks(16 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw_request(s, &head, &chunked)?;
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_code(&body)?, "payload_too_large", "{body}");
    let (_, presence) = s.get(&format!("/api/orgs/{org}/presence"), Some(&api_key()));
    assert!(
        presence["users"].is_array(),
        "the org still answers: {presence}"
    );
    Ok(())
}

// ---------------------------------------------------------------- identity (SPEC §8)

fn fresh_number() -> u64 {
    u64::from_str_radix(&unique("n")[2..], 16).unwrap_or(7) + 1_000_000_000
}

/// A Django REST Framework SimpleJWT access token: no `sub`, an integer `user_id`.
fn integer_user_id(s: &Server) -> TestResult {
    let id = fresh_number();
    let t = token_with(json!({"sub": null, "user_id": id, "token_type": "access", "jti": "j1"}));
    let mut ws = Ws::connect(&s.ws_url(&with_token("/ws/notifications/", &t)))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["user_id"], id.to_string(), "{hello}");
    assert!(hello["unread_count"].is_u64(), "{hello}");
    Ok(())
}

/// A SimpleJWT refresh token is refused like an invalid one: 4001 on a socket, 401 on the
/// inbox API that the same user's access token may read.
fn refresh_token_refused(s: &Server) -> TestResult {
    let id = fresh_number();
    let claims = |kind: &str| json!({"sub": null, "user_id": id, "token_type": kind});
    let (refresh, access) = (token_with(claims("refresh")), token_with(claims("access")));
    let url = s.ws_url(&with_token("/ws/notifications/", &refresh));
    Ws::connect(&url)?.expect_close(4001)?;
    let path = format!("/api/users/{id}/notifications");
    let (status, body) = s.get(&path, Some(&refresh));
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body)?, "unauthorized", "{body}");
    let (status, body) = s.get(&path, Some(&access));
    assert_eq!(status, 200, "the access token reads it: {body}");
    Ok(())
}

/// A Keycloak-style token: only OIDC profile names.
fn oidc_profile(s: &Server) -> TestResult {
    let user = unique("kc");
    let t = token_with(json!({
        "sub": user, "preferred_username": "jdoe", "given_name": "Jane", "family_name": "Doe"
    }));
    let mut ws = Ws::connect(&s.ws_url(&with_token("/ws/notifications/", &t)))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(
        (&hello["user_id"], &hello["user_name"]),
        (&json!(user), &json!("Jane Doe")),
        "{hello}"
    );
    Ok(())
}
