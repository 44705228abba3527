//! Unit tests of reading the configuration: defaults, overrides, every kind of problem.

use std::collections::HashMap;

use super::*;

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn names(problems: &[Problem]) -> Vec<(&'static str, &'static str)> {
    problems.iter().map(|p| (p.var(), p.kind())).collect()
}

#[test]
fn defaults_match_the_contract() {
    let (s, problems) = Settings::from_lookup(|_| None);
    assert_eq!(s, Settings::default());
    assert_eq!(problems, vec![]);
    assert_eq!(
        (s.max_frame_bytes, s.max_content_chars, s.resume_limit),
        (65_536, 4_000, 1_000)
    );
    assert_eq!(
        (s.rate_per_sec, s.rate_burst, s.max_sockets_per_user),
        (10.0, 30.0, 10)
    );
    assert_eq!(s.presence_grace_ms, 3_000);
    assert_eq!(s.max_joined_conversations, 100);
    assert!(s.drop_handoff_seqs.is_empty());
}

#[test]
fn the_handoff_drop_switch_needs_dev_tokens() {
    let (off, _) = Settings::from_lookup(lookup(&[("TEST_DROP_HANDOFF_SEQS", "2, 5")]));
    assert!(off.drop_handoff_seqs.is_empty(), "ignored in production");
    let (on, _) = Settings::from_lookup(lookup(&[
        ("TEST_DROP_HANDOFF_SEQS", "2, 5"),
        ("DEV_TOKENS", "1"),
    ]));
    assert_eq!(on.drop_handoff_seqs, vec![2, 5]);
}

#[test]
fn good_values_override_without_problems() {
    let (s, problems) = Settings::from_lookup(lookup(&[
        ("MAX_FRAME_BYTES", "1024"),
        ("RATE_PER_SEC", " 0.01 "),
        ("PRESENCE_GRACE_MS", "0"),
        ("RESUME_LIMIT", ""),
        (
            "ALLOWED_ORIGINS",
            "https://app.example, http://localhost:3000/",
        ),
    ]));
    assert_eq!(problems, vec![], "an empty value counts as unset");
    assert_eq!(
        (s.max_frame_bytes, s.rate_per_sec, s.presence_grace_ms),
        (1024, 0.01, 0)
    );
    assert_eq!(s.resume_limit, 1_000);
    assert_eq!(
        s.allowed_origins,
        vec!["https://app.example", "http://localhost:3000"]
    );
}

#[test]
fn garbage_keeps_the_default_and_is_reported() {
    let (s, problems) = Settings::from_lookup(lookup(&[
        ("RESUME_LIMIT", "lots"),
        ("RATE_BURST", "30 frames"),
    ]));
    assert_eq!((s.resume_limit, s.rate_burst), (1_000, 30.0));
    assert_eq!(
        names(&problems),
        [("RATE_BURST", "unparsable"), ("RESUME_LIMIT", "unparsable")]
    );
    assert_eq!(
        problems[1].to_string(),
        r#"RESUME_LIMIT="lots" is not a number; the default 1000 is used"#
    );
}

#[test]
fn values_out_of_range_keep_the_default_and_are_reported() {
    let (s, problems) = Settings::from_lookup(lookup(&[
        ("MAX_FRAME_BYTES", "1023"),
        ("MAX_CONTENT_CHARS", "0"),
        ("RATE_PER_SEC", "-1"),
        ("RATE_BURST", "0.5"),
        ("MAX_SOCKETS_PER_USER", "-2"),
        ("RESUME_LIMIT", "1.5"),
        ("PRESENCE_GRACE_MS", "-1"),
        ("ORG_EVENT_RETENTION", "0"),
    ]));
    assert_eq!(s, Settings::default(), "every default kept");
    let vars: Vec<_> = names(&problems);
    assert_eq!(vars.len(), 8, "{problems:?}");
    assert!(
        vars.iter().all(|(_, kind)| *kind == "out_of_range"),
        "{vars:?}"
    );
    assert_eq!(
        problems[0].to_string(),
        "MAX_FRAME_BYTES=\"1023\" is out of range (must be a whole number of at least \
         1024); the default 65536 is used"
    );
    let (_, zero_rate) = Settings::from_lookup(lookup(&[("RATE_PER_SEC", "0")]));
    assert_eq!(names(&zero_rate), [("RATE_PER_SEC", "out_of_range")]);
    let (_, nan) = Settings::from_lookup(lookup(&[("RATE_PER_SEC", "NaN")]));
    assert_eq!(names(&nan), [("RATE_PER_SEC", "out_of_range")]);
}

/// Each problem's default text is the default itself: setting a var to the text a
/// problem quotes gives the default settings and no problem.
#[test]
fn quoted_defaults_are_the_defaults() {
    let vars = [
        "MAX_FRAME_BYTES",
        "MAX_CONTENT_CHARS",
        "RATE_PER_SEC",
        "RATE_BURST",
        "MAX_SOCKETS_PER_USER",
        "RESUME_LIMIT",
        "PRESENCE_GRACE_MS",
        "PRESENCE_BATCH_MS",
        "ORG_EVENT_RETENTION",
        "MAX_JOINED_CONVERSATIONS",
    ];
    let (_, problems) = Settings::from_lookup(|k| vars.contains(&k).then(|| "x".into()));
    assert_eq!(problems.len(), vars.len());
    for p in &problems {
        let Problem::Unparsable { var, default, .. } = p else {
            panic!("{p:?}");
        };
        let (s, again) = Settings::from_lookup(lookup(&[(var, default)]));
        assert_eq!((s, again), (Settings::default(), vec![]), "{var}={default}");
    }
}

#[test]
fn long_values_are_cut_in_the_message() {
    let long = "9".repeat(100) + "x";
    let (_, problems) = Settings::from_lookup(lookup(&[("RESUME_LIMIT", &long)]));
    let Problem::Unparsable { value, .. } = &problems[0] else {
        panic!("{problems:?}");
    };
    assert_eq!(value, &"9".repeat(32));
}

#[test]
fn a_wildcard_origin_is_reported() {
    let (s, problems) = Settings::from_lookup(lookup(&[("ALLOWED_ORIGINS", "https://a.io, *")]));
    assert!(s.origin_allowed(Some("https://whatever.example")));
    assert_eq!(names(&problems), [("ALLOWED_ORIGINS", "development_only")]);
}

#[test]
fn origin_allow_list() {
    let s = Settings {
        allowed_origins: vec!["https://app.example".into()],
        ..Settings::default()
    };
    assert!(s.origin_allowed(None));
    assert!(s.origin_allowed(Some("https://app.example")));
    assert!(!s.origin_allowed(Some("https://evil.example")));
    assert!(!s.origin_allowed(Some("https://app.example.evil.example")));
    assert!(
        !Settings::default().origin_allowed(Some("https://app.example")),
        "empty list allows no browser"
    );
}

#[test]
fn claim_names_default_and_override() {
    let (d, problems) = claim_names(|_| None);
    assert_eq!(
        (d.user_id, d.orgs.as_str()),
        (vec!["sub".into(), "user_id".into()], "orgs")
    );
    assert_eq!(problems, vec![]);
    let (c, problems) = claim_names(lookup(&[
        ("JWT_USER_ID_CLAIM", " uid , https://app.example/id,"),
        ("JWT_ORGS_CLAIM", " groups "),
    ]));
    assert_eq!(c.user_id, vec!["uid", "https://app.example/id"]);
    assert_eq!(c.orgs, "groups");
    assert_eq!(problems, vec![]);
}

#[test]
fn an_empty_claim_list_keeps_the_default_and_is_reported() {
    let (c, problems) = claim_names(lookup(&[("JWT_USER_ID_CLAIM", " , ,")]));
    assert_eq!(c, ClaimNames::default());
    assert_eq!(names(&problems), [("JWT_USER_ID_CLAIM", "empty")]);
}

#[test]
fn missing_secrets_and_development_switches_are_reported() {
    let keys = vec!["k".to_string()];
    assert_eq!(secret_problems(true, &keys, false), vec![]);
    let all = secret_problems(false, &[], true);
    assert_eq!(
        names(&all),
        [
            ("JWT_SECRET", "missing"),
            ("API_KEY", "missing"),
            ("DEV_TOKENS", "development_only")
        ]
    );
    let severities: Vec<Severity> = all.iter().map(Problem::severity).collect();
    assert_eq!(
        severities,
        [Severity::Error, Severity::Error, Severity::Warning]
    );
    assert!(all[0].to_string().contains("JWT_JWKS"), "names both ways");
}

#[test]
fn dev_tokens_switch() {
    for on in ["1", "true", " 1 "] {
        assert!(dev_tokens_on(Some(on.into())), "{on:?}");
    }
    for off in ["0", "", "yes", "false"] {
        assert!(!dev_tokens_on(Some(off.into())), "{off:?}");
    }
    assert!(!dev_tokens_on(None));
}

#[test]
fn jwks_problems_keep_their_kind() {
    let set = Problem::from(AuthConfigError::Jwks {
        var: "JWT_JWKS",
        reason: "not JSON".into(),
    });
    let key = Problem::from(AuthConfigError::JwksKeySkipped {
        var: "JWT_JWKS",
        kid: "k1".into(),
        reason: "unsupported key type \"oct\"".into(),
    });
    let fetched = Problem::from(AuthConfigError::JwksKeySkipped {
        var: "JWT_JWKS_URL",
        kid: "k2".into(),
        reason: "unsupported EC curve \"P-384\"".into(),
    });
    assert_eq!(
        names(&[set.clone(), key.clone(), fetched.clone()]),
        [
            ("JWT_JWKS", "invalid"),
            ("JWT_JWKS", "key_skipped"),
            ("JWT_JWKS_URL", "key_skipped")
        ]
    );
    assert_eq!(
        fetched.to_string(),
        r#"JWT_JWKS_URL key k2 skipped: unsupported EC curve "P-384""#
    );
    assert_eq!(
        (set.severity(), key.severity()),
        (Severity::Error, Severity::Warning)
    );
}

#[test]
fn api_keys_split_on_commas() {
    assert_eq!(api_keys(Some(" a, b ,,".into())), vec!["a", "b"]);
    assert!(api_keys(None).is_empty());
}

#[test]
fn jwks_url_must_be_http_or_https() {
    for good in [
        "https://idp.example.com/.well-known/jwks.json",
        " http://127.0.0.1:9/jwks ",
    ] {
        let (url, problems) = jwks_url(Some(good.into()));
        assert_eq!(url.as_deref(), Some(good.trim()), "{good:?}");
        assert_eq!(problems, vec![]);
    }
    for bad in [
        "idp.example.com/jwks",
        "ftp://x/jwks",
        "https://",
        "https:///jwks",
    ] {
        let (url, problems) = jwks_url(Some(bad.into()));
        assert_eq!(url, None, "{bad:?}");
        assert_eq!(names(&problems), [("JWT_JWKS_URL", "invalid")], "{bad:?}");
        assert_eq!(problems[0].severity(), Severity::Error);
    }
    assert_eq!(jwks_url(None), (None, vec![]));
    assert_eq!(jwks_url(Some("  ".into())), (None, vec![]));
}

#[test]
fn webhook_problems_are_reported_like_the_others() {
    let (s, problems) = Settings::from_lookup(lookup(&[
        ("WEBHOOK_URL", "http://app.example/hooks"),
        ("WEBHOOK_EVENTS", "user.online,nope"),
    ]));
    assert!(s.webhooks.target.is_none());
    assert_eq!(
        names(&problems),
        vec![
            ("WEBHOOK_EVENTS", "unknown_event"),
            ("WEBHOOK_URL", "invalid")
        ]
    );
    assert_eq!(problems[1].severity(), Severity::Error);
    assert_eq!(problems[0].severity(), Severity::Warning);
}

#[test]
fn vapid_keys_are_all_or_nothing() {
    use crate::domain::push::b64url;
    let key = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
    let public = b64url(key.verifying_key().to_encoded_point(false).as_bytes());
    let private = b64url(&[3; 32]);
    let env = |vars: Vec<(&'static str, String)>| {
        move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    };
    let all = vec![
        ("VAPID_PUBLIC_KEY", public.clone()),
        ("VAPID_PRIVATE_KEY", private.clone()),
        ("VAPID_SUBJECT", "mailto:ops@example.com".to_string()),
    ];
    let (parsed, problems) = vapid(env(all.clone()));
    assert_eq!(parsed.unwrap().public_key(), public);
    assert_eq!(problems, vec![]);
    let (none, problems) = vapid(env(vec![]));
    assert!(
        none.is_none() && problems.is_empty(),
        "unset: push is off, quietly"
    );
    let (v, problems) = vapid(env(all[..2].to_vec()));
    assert!(v.is_none());
    assert_eq!(names(&problems), [("VAPID_SUBJECT", "invalid")]);
    let mut swapped = all.clone();
    swapped[1].1 = b64url(&[4; 32]);
    let (v, problems) = vapid(env(swapped));
    assert!(v.is_none());
    assert_eq!(names(&problems), [("VAPID_PUBLIC_KEY", "invalid")]);
    assert_eq!(problems[0].severity(), Severity::Error);
    assert!(!problems[0].to_string().contains(&private));
}
