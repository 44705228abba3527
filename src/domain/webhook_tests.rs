//! Unit tests of the webhook rules: the Standard Webhooks signature (the specification's own
//! example), the settings and their problems, the retry verdicts and the backoff.

use std::collections::HashMap;

use super::*;

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[test]
fn signature_matches_the_specifications_example() {
    // The example of the Standard Webhooks specification (and its reference libraries'
    // tests): this id, timestamp, body and secret sign to exactly this value.
    let key = secret_key(SECRET).unwrap();
    let sig = signature(
        &key,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
    );
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[test]
fn secrets_need_base64_and_the_prefix_is_optional() {
    assert_eq!(
        secret_key(SECRET),
        secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    );
    assert_eq!(secret_key("whsec_not base64!"), None);
    assert_eq!(secret_key("whsec_"), None);
}

#[test]
fn webhooks_are_off_until_url_and_secret_are_set() {
    let (s, problems) = settings(lookup(&[]), false);
    assert!(!s.wants(Kind::MessageCreated));
    assert!(problems.is_empty());
    let (s, problems) = settings(
        lookup(&[("WEBHOOK_URL", "https://app.example/hooks")]),
        false,
    );
    assert!(!s.wants(Kind::MessageCreated));
    assert_eq!(problems, vec![WebhookProblem::BadSecret]);
    let (s, problems) = settings(
        lookup(&[
            ("WEBHOOK_URL", "https://app.example/hooks"),
            ("WEBHOOK_SECRET", SECRET),
        ]),
        false,
    );
    assert!(problems.is_empty());
    assert!(
        Kind::ALL.iter().all(|k| s.wants(*k)),
        "default: every event"
    );
    assert!(
        !format!("{s:?}").contains("MfKQ"),
        "Debug never shows the key"
    );
}

#[test]
fn only_https_or_local_http_urls() {
    for ok in [
        "https://app.example/hooks",
        "http://localhost:8000/hooks",
        "http://127.0.0.1:9/x",
        "http://[::1]:9/",
    ] {
        assert!(url_allowed(ok), "{ok}");
    }
    for bad in [
        "http://app.example/hooks",
        "ftp://x",
        "https://",
        "http://localhost.evil.example/",
        "http://user@evil.example/",
    ] {
        assert!(!url_allowed(bad), "{bad}");
    }
    let (s, problems) = settings(
        lookup(&[
            ("WEBHOOK_URL", "http://app.example/"),
            ("WEBHOOK_SECRET", SECRET),
        ]),
        false,
    );
    assert!(s.target.is_none());
    assert_eq!(problems, vec![WebhookProblem::BadUrl]);
    assert!(problems[0].disables());
}

#[test]
fn the_event_list_selects_and_reports_unknown_names() {
    let (s, problems) = settings(
        lookup(&[
            ("WEBHOOK_URL", "https://app.example/"),
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_EVENTS", "user.online, message.created,bogus"),
        ]),
        false,
    );
    assert!(s.wants(Kind::UserOnline) && s.wants(Kind::MessageCreated));
    assert!(!s.wants(Kind::UserOffline));
    assert_eq!(problems, vec![WebhookProblem::UnknownEvent("bogus".into())]);
    assert_eq!(
        (problems[0].var(), problems[0].kind()),
        ("WEBHOOK_EVENTS", "unknown_event")
    );
}

#[test]
fn the_short_test_window_needs_dev_tokens() {
    let vars = [("TEST_WEBHOOK_MAX_AGE_MS", "5000")];
    assert_eq!(settings(lookup(&vars), false).0.max_age_ms, MAX_AGE_MS);
    assert_eq!(settings(lookup(&vars), true).0.max_age_ms, 5000);
}

#[test]
fn network_errors_429_and_5xx_are_retried_other_statuses_refuse() {
    assert_eq!(verdict(Some(200)), Verdict::Delivered);
    assert_eq!(verdict(Some(204)), Verdict::Delivered);
    for s in [None, Some(408), Some(429), Some(500), Some(503)] {
        assert_eq!(verdict(s), Verdict::Retry, "{s:?}");
    }
    for s in [Some(301), Some(400), Some(401), Some(404), Some(410)] {
        assert_eq!(verdict(s), Verdict::Refused, "{s:?}");
    }
}

#[test]
fn backoff_doubles_with_jitter_up_to_an_hour_within_a_day() {
    assert_eq!(retry_in_ms(1, 0), 250);
    assert_eq!(retry_in_ms(1, 250), 500);
    assert_eq!(retry_in_ms(2, 0), 500);
    assert_eq!(
        retry_in_ms(30, u64::MAX),
        MAX_BACKOFF_MS / 2 + (u64::MAX % (MAX_BACKOFF_MS as u64 / 2 + 1)) as i64
    );
    assert!(retry_in_ms(30, 7) <= MAX_BACKOFF_MS);
    assert!(!gives_up(0, MAX_AGE_MS, MAX_AGE_MS));
    assert!(gives_up(0, MAX_AGE_MS + 1, MAX_AGE_MS));
}

#[test]
fn the_body_has_type_timestamp_and_data() {
    let b = body(
        Kind::UserOnline,
        "2026-01-01T00:00:00.000Z",
        json!({"user_id": "u"}),
    );
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        v,
        json!({"type": "user.online", "timestamp": "2026-01-01T00:00:00.000Z", "data": {"user_id": "u"}})
    );
}

#[test]
fn app_presence_goes_online_once_and_offline_after_the_grace() {
    use AppPresence::*;
    assert_eq!(app_presence(1, false, None, 0, 3000), Online);
    assert_eq!(app_presence(2, true, None, 0, 3000), Nothing);
    assert_eq!(app_presence(0, true, None, 10, 3000), StartGrace(3010));
    // A reload: the new device arrives before the deadline.
    assert_eq!(app_presence(1, true, Some(3010), 500, 3000), CancelGrace);
    // The timer before and at the deadline.
    assert_eq!(app_presence(0, true, Some(3010), 3009, 3000), Nothing);
    assert_eq!(app_presence(0, true, Some(3010), 3010, 3000), Offline);
    assert_eq!(app_presence(0, false, None, 0, 3000), Nothing);
}
