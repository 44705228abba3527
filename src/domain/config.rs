//! Settings read from `[vars]` (SPEC §7), with the contract's defaults, and the Origin
//! allow-list. Parsing is pure: the platform hands in a lookup function.

/// Limits and behaviour knobs. Every field has the documented default.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub max_frame_bytes: usize,
    pub max_content_chars: usize,
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    pub max_sockets_per_user: usize,
    pub resume_limit: u64,
    pub presence_grace_ms: i64,
    pub org_event_retention: u64,
    pub allowed_origins: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_frame_bytes: 65_536,
            max_content_chars: 4_000,
            rate_per_sec: 10.0,
            rate_burst: 30.0,
            max_sockets_per_user: 10,
            resume_limit: 1_000,
            presence_grace_ms: 3_000,
            org_event_retention: 1_000,
            allowed_origins: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads each setting by its `[vars]` name; missing or unparsable values keep the default.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let d = Settings::default();
        fn num<T: std::str::FromStr>(v: Option<String>, default: T) -> T {
            v.and_then(|s| s.trim().parse().ok()).unwrap_or(default)
        }
        Settings {
            max_frame_bytes: num(get("MAX_FRAME_BYTES"), d.max_frame_bytes),
            max_content_chars: num(get("MAX_CONTENT_CHARS"), d.max_content_chars),
            rate_per_sec: num(get("RATE_PER_SEC"), d.rate_per_sec),
            rate_burst: num(get("RATE_BURST"), d.rate_burst),
            max_sockets_per_user: num(get("MAX_SOCKETS_PER_USER"), d.max_sockets_per_user),
            resume_limit: num(get("RESUME_LIMIT"), d.resume_limit),
            presence_grace_ms: num(get("PRESENCE_GRACE_MS"), d.presence_grace_ms),
            org_event_retention: num(get("ORG_EVENT_RETENTION"), d.org_event_retention),
            allowed_origins: get("ALLOWED_ORIGINS")
                .map(|s| {
                    s.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Requests without `Origin` (servers, mobile apps) pass; browsers must be listed.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(o) => {
                let o = o.trim_end_matches('/');
                self.allowed_origins
                    .iter()
                    .any(|a| a == "*" || a.eq_ignore_ascii_case(o))
            }
        }
    }
}

/// Splits a comma list of server API keys (several allow rotation).
pub fn api_keys(raw: Option<String>) -> Vec<String> {
    raw.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let s = Settings::from_lookup(|_| None);
        assert_eq!(s, Settings::default());
        assert_eq!(
            (s.max_frame_bytes, s.max_content_chars, s.resume_limit),
            (65_536, 4_000, 1_000)
        );
        assert_eq!(
            (s.rate_per_sec, s.rate_burst, s.max_sockets_per_user),
            (10.0, 30.0, 10)
        );
        assert_eq!(s.presence_grace_ms, 3_000);
    }

    #[test]
    fn vars_override_and_garbage_keeps_defaults() {
        let s = Settings::from_lookup(|k| match k {
            "MAX_FRAME_BYTES" => Some("1024".into()),
            "RESUME_LIMIT" => Some("lots".into()),
            "ALLOWED_ORIGINS" => Some("https://app.example, http://localhost:3000/".into()),
            _ => None,
        });
        assert_eq!(s.max_frame_bytes, 1024);
        assert_eq!(s.resume_limit, 1_000);
        assert_eq!(
            s.allowed_origins,
            vec!["https://app.example", "http://localhost:3000"]
        );
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
        let any = Settings {
            allowed_origins: vec!["*".into()],
            ..Settings::default()
        };
        assert!(any.origin_allowed(Some("https://whatever.example")));
        assert!(
            !Settings::default().origin_allowed(Some("https://app.example")),
            "empty list allows no browser"
        );
    }

    #[test]
    fn api_keys_split_on_commas() {
        assert_eq!(api_keys(Some(" a, b ,,".into())), vec!["a", "b"]);
        assert!(api_keys(None).is_empty());
    }
}
