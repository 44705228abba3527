//! Web Push (SPEC §11) end to end: the harness plays the push service on loopback
//! ([`PushService`]) and the browser ([`Browser`]: a key pair and auth secret made here).
//! A subscription registered through the API gets a push when its user is offline; the
//! body is decrypted by PyPI's `http_ece` (an independent aes128gcm) and the VAPID JWT is
//! checked with `VAPID_PUBLIC_KEY` alone (ES256, aud, exp, sub). A live socket means no
//! push under `offline`, `always` pushes anyway, `never` does not, and a 410 deletes the
//! subscription. "No push" is proved by order, not by waiting: a marker user's push, sent
//! after, arrives while the other path still has nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use serde_json::{json, Value};

use crate::common::{
    api_key, error_code, token, trial, unique, vapid_keys, with_token, Browser, PushService,
    Pushed, Server, TestResult, Ws, VAPID_SUBJECT,
};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    trials![
        "push" => [
            offline_user_gets_an_encrypted_signed_push,
            live_socket_means_no_push_unless_always,
            gone_subscription_is_deleted,
            bad_input_is_refused,
        ],
    ]
}

/// Registers `browser` for `user` with the user's JWT at `endpoint`.
fn subscribe(s: &Server, user: &str, browser: &Browser, endpoint: &str) -> Result<(), String> {
    let (status, body) = s.post_json(
        "/api/push/subscriptions",
        Some(&token(user)),
        &browser.subscription(endpoint),
    );
    match status {
        201 => Ok(()),
        _ => Err(format!("subscribe: {status} {body}")),
    }
}

fn publish(s: &Server, user: &str, push: Option<&str>, title: &str) -> Value {
    let mut body = json!({"user_id": user, "notification": {"title": title, "data": {"k": 1}}});
    if let Some(p) = push {
        body["push"] = json!(p);
    }
    let (status, resp) = s.post_json("/api/notifications", Some(&api_key()), &body);
    assert_eq!(status, 201, "{resp}");
    resp["notifications"][0].clone()
}

/// Checks the `Authorization: vapid t=<jwt>, k=<key>` header as a push service would.
fn check_vapid(p: &Pushed, service: &PushService) -> Result<(), String> {
    let header = p.headers.get("authorization").ok_or("no Authorization")?;
    let (t, k) = header
        .strip_prefix("vapid t=")
        .and_then(|r| r.split_once(", k="))
        .ok_or(format!("not a vapid header: {header}"))?;
    assert_eq!(k, vapid_keys().0, "k is VAPID_PUBLIC_KEY");
    let parts: Vec<&str> = t.split('.').collect();
    let d = |s: &str| B64.decode(s).map_err(|e| e.to_string());
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&d(k)?).map_err(|e| e.to_string())?;
    let sig = p256::ecdsa::Signature::from_slice(&d(parts[2])?).map_err(|e| e.to_string())?;
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .map_err(|e| format!("ES256 signature: {e}"))?;
    let head: Value = serde_json::from_slice(&d(parts[0])?).map_err(|e| e.to_string())?;
    assert_eq!(head["alg"], "ES256");
    let claims: Value = serde_json::from_slice(&d(parts[1])?).map_err(|e| e.to_string())?;
    assert_eq!(claims["aud"], service.origin());
    assert_eq!(claims["sub"], VAPID_SUBJECT);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    assert!(
        exp > now && exp <= now + 24 * 3600,
        "exp {exp} within 24 h of {now}"
    );
    Ok(())
}

fn offline_user_gets_an_encrypted_signed_push(s: &Server) -> TestResult {
    let service = PushService::start()?;
    let (user, browser) = (unique("push-off"), Browser::new());
    subscribe(s, &user, &browser, &service.endpoint("/p/one"))?;
    let (status, list) = s.get("/api/push/subscriptions", Some(&token(&user)));
    assert_eq!(
        (status, list["subscriptions"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let sent = publish(s, &user, None, "Hello offline");
    assert_eq!(sent["live_devices"], 0);
    let pushes = service.wait_for("/p/one", 1)?;
    let p = &pushes[0];
    assert_eq!(p.headers["content-encoding"], "aes128gcm");
    let ttl: u32 = p.headers["ttl"].parse().map_err(|_| "TTL is a number")?;
    assert!(ttl > 0 && ttl <= 86_400, "TTL {ttl}");
    assert_eq!(p.headers["urgency"], "normal");
    check_vapid(p, &service)?;
    let plain: Value =
        serde_json::from_str(&browser.decrypt(&p.body)?).map_err(|e| e.to_string())?;
    assert_eq!(plain["id"], sent["id"]);
    assert_eq!(plain["title"], "Hello offline");
    assert_eq!(plain["data"], json!({"k": 1}));
    Ok(())
}

fn live_socket_means_no_push_unless_always(s: &Server) -> TestResult {
    let service = PushService::start()?;
    let (online, marker) = (unique("push-on"), unique("push-mark"));
    let (b1, b2) = (Browser::new(), Browser::new());
    subscribe(s, &online, &b1, &service.endpoint("/p/online"))?;
    subscribe(s, &marker, &b2, &service.endpoint("/p/marker"))?;
    let mut ws = Ws::connect(&s.ws_url(&with_token("/ws/notifications/", &token(&online))))?;
    ws.recv_type("connection.established")?;
    let sent = publish(s, &online, None, "while online");
    assert_eq!(sent["live_devices"], 1);
    publish(s, &marker, None, "marker 1");
    service.wait_for("/p/marker", 1)?;
    assert_eq!(
        service.received("/p/online").len(),
        0,
        "online under offline: no push"
    );
    publish(s, &online, Some("always"), "always");
    let got = service.wait_for("/p/online", 1)?;
    let plain: Value =
        serde_json::from_str(&b1.decrypt(&got[0].body)?).map_err(|e| e.to_string())?;
    assert_eq!(plain["title"], "always");
    drop(ws);
    publish(s, &marker, Some("never"), "never");
    publish(s, &online, Some("always"), "marker 2");
    service.wait_for("/p/online", 2)?;
    assert_eq!(service.received("/p/marker").len(), 1, "never: no push");
    Ok(())
}

fn gone_subscription_is_deleted(s: &Server) -> TestResult {
    let service = PushService::start()?;
    let (user, marker) = (unique("push-gone"), unique("push-mark"));
    subscribe(s, &user, &Browser::new(), &service.endpoint("/p/gone"))?;
    subscribe(s, &marker, &Browser::new(), &service.endpoint("/p/m"))?;
    service.answer_with("/p/gone", 410);
    publish(s, &user, None, "to a gone browser");
    service.wait_for("/p/gone", 1)?;
    let path = format!("/api/users/{user}/push-subscriptions");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, list) = s.get(&path, Some(&api_key()));
        assert_eq!(status, 200, "{list}");
        if list["subscriptions"] == json!([]) {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("still listed after 410: {list}").into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    publish(s, &user, None, "again");
    publish(s, &marker, None, "marker");
    service.wait_for("/p/m", 1)?;
    assert_eq!(
        service.received("/p/gone").len(),
        1,
        "nothing sent after the 410"
    );
    Ok(())
}

fn bad_input_is_refused(s: &Server) -> TestResult {
    let (status, body) = s.get("/api/push/vapid-public-key", None);
    assert_eq!(
        (status, body["public_key"].as_str()),
        (200, Some(vapid_keys().0.as_str()))
    );
    let user = unique("push-bad");
    let browser = Browser::new();
    let mut bad = browser.subscription("http://example.com/p");
    let (status, body) = s.post_json("/api/push/subscriptions", Some(&token(&user)), &bad);
    assert_eq!(
        (status, error_code(&body)?.as_str()),
        (422, "unprocessable"),
        "{body}"
    );
    bad = browser.subscription("https://push.example/p");
    bad["keys"]["auth"] = json!("AAAA");
    let (status, _) = s.post_json("/api/push/subscriptions", Some(&token(&user)), &bad);
    assert_eq!(status, 422);
    let ok = browser.subscription("https://push.example/p");
    let (status, _) = s.post_json("/api/push/subscriptions", Some(&api_key()), &ok);
    assert_eq!(status, 400, "the server key names the user in the path");
    let (status, _) = s.post_json("/api/push/subscriptions", None, &ok);
    assert_eq!(status, 401);
    let path = format!("/api/users/{user}/push-subscriptions");
    assert_eq!(s.post_json(&path, Some(&api_key()), &ok).0, 201);
    assert_eq!(
        s.post_json(&path, Some(&token(&user)), &ok).0,
        401,
        "server key only"
    );
    let (status, body) = s.send_json(
        "DELETE",
        "/api/push/subscriptions",
        Some(&token(&user)),
        &ok,
    );
    assert_eq!((status, &body["deleted"]), (200, &json!(true)));
    let publish = json!({"user_id": user, "notification": {"title": "x"}, "push": "sometimes"});
    let (status, _) = s.post_json("/api/notifications", Some(&api_key()), &publish);
    assert_eq!(status, 422);
    Ok(())
}
