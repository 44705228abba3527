//! Settings read from `[vars]` (SPEC §7) with the contract's defaults, the claim names of
//! SPEC §8, the Origin allow-list and the server key list; and every [`Problem`] found while
//! reading them, so that a bad value is reported instead of silently replaced. A bad value
//! still keeps its default. Parsing is pure: the platform hands in a lookup function.
//! `GET /healthz?deep=1` shows the problems by name ([`super::health`]).

use std::str::FromStr;

use super::auth::AuthConfigError;
use super::identity::ClaimNames;
use super::push::vapid::Vapid;
use super::push::PushError;
use super::webhook::{self, WebhookProblem, WebhookSettings};

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
    /// How long presence changes after one that was sent are held and sent together
    /// (`domain::presence::Window`); 0 sends each at once.
    pub presence_batch_ms: i64,
    pub org_event_retention: u64,
    pub allowed_origins: Vec<String>,
    /// Conversations one session socket may have joined at once (SPEC §9).
    pub max_joined_conversations: usize,
    /// Test-only (`TEST_DROP_HANDOFF_SEQS`, honoured only with `DEV_TOKENS` on): hand-offs of
    /// these seqs from rooms to sessions are dropped, so tests can prove the gap repair.
    pub drop_handoff_seqs: Vec<u64>,
    /// Webhooks to the app's backend (SPEC §10): off unless URL and secret are set.
    pub webhooks: WebhookSettings,
}

/// A number read from `[vars]`: its name, its default (and the default as messages quote
/// it), and the rule a value must follow.
struct Number<T> {
    var: &'static str,
    default: T,
    text: &'static str,
    ok: fn(T) -> bool,
    rule: &'static str,
}

const WHOLE_1: &str = "a whole number of at least 1";
const MAX_FRAME_BYTES: Number<usize> = Number {
    var: "MAX_FRAME_BYTES",
    default: 65_536,
    text: "65536",
    ok: |v| v >= 1024,
    rule: "a whole number of at least 1024",
};
const MAX_CONTENT_CHARS: Number<usize> = Number {
    var: "MAX_CONTENT_CHARS",
    default: 4_000,
    text: "4000",
    ok: |v| v >= 1,
    rule: WHOLE_1,
};
const RATE_PER_SEC: Number<f64> = Number {
    var: "RATE_PER_SEC",
    default: 10.0,
    text: "10",
    ok: |v| v.is_finite() && v > 0.0,
    rule: "a number above 0",
};
const RATE_BURST: Number<f64> = Number {
    var: "RATE_BURST",
    default: 30.0,
    text: "30",
    ok: |v| v.is_finite() && v >= 1.0,
    rule: "a number of at least 1",
};
const MAX_SOCKETS_PER_USER: Number<usize> = Number {
    var: "MAX_SOCKETS_PER_USER",
    default: 10,
    text: "10",
    ok: |v| v >= 1,
    rule: WHOLE_1,
};
const RESUME_LIMIT: Number<u64> = Number {
    var: "RESUME_LIMIT",
    default: 1_000,
    text: "1000",
    ok: |v| v >= 1,
    rule: WHOLE_1,
};
const PRESENCE_GRACE_MS: Number<i64> = Number {
    var: "PRESENCE_GRACE_MS",
    default: 3_000,
    text: "3000",
    ok: |v| v >= 0,
    rule: "a whole number of at least 0",
};
const PRESENCE_BATCH_MS: Number<i64> = Number {
    var: "PRESENCE_BATCH_MS",
    default: 100,
    text: "100",
    ok: |v| (0..=10_000).contains(&v),
    rule: "a whole number from 0 to 10000",
};
const MAX_JOINED_CONVERSATIONS: Number<usize> = Number {
    var: "MAX_JOINED_CONVERSATIONS",
    default: 100,
    text: "100",
    ok: |v| v >= 1,
    rule: WHOLE_1,
};
const ORG_EVENT_RETENTION: Number<u64> = Number {
    var: "ORG_EVENT_RETENTION",
    default: 1_000,
    text: "1000",
    ok: |v| v >= 1,
    rule: WHOLE_1,
};

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_frame_bytes: MAX_FRAME_BYTES.default,
            max_content_chars: MAX_CONTENT_CHARS.default,
            rate_per_sec: RATE_PER_SEC.default,
            rate_burst: RATE_BURST.default,
            max_sockets_per_user: MAX_SOCKETS_PER_USER.default,
            resume_limit: RESUME_LIMIT.default,
            presence_grace_ms: PRESENCE_GRACE_MS.default,
            presence_batch_ms: PRESENCE_BATCH_MS.default,
            org_event_retention: ORG_EVENT_RETENTION.default,
            allowed_origins: Vec::new(),
            max_joined_conversations: MAX_JOINED_CONVERSATIONS.default,
            drop_handoff_seqs: Vec::new(),
            webhooks: WebhookSettings::default(),
        }
    }
}

/// Something wrong with the configuration. The message names the variable and what is
/// wrong, for the log; it never holds a secret's value (numbers from `[vars]` are quoted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{var}={value:?} is not a number; the default {default} is used")]
    Unparsable {
        var: &'static str,
        value: String,
        default: &'static str,
    },
    #[error("{var}={value:?} is out of range (must be {rule}); the default {default} is used")]
    OutOfRange {
        var: &'static str,
        value: String,
        rule: &'static str,
        default: &'static str,
    },
    #[error("{var} names no claim; the default {default:?} is used")]
    EmptyList {
        var: &'static str,
        default: &'static str,
    },
    #[error(
        "neither JWT_SECRET, a usable JWT_JWKS key nor JWT_JWKS_URL is set: every token is refused"
    )]
    NoTokenKeys,
    #[error("JWT_JWKS_URL is not an http:// or https:// URL: no key set is fetched")]
    BadJwksUrl,
    #[error("API_KEY is not set: every /api/ call is refused with 401")]
    NoApiKey,
    #[error("DEV_TOKENS is on: GET /dev/token signs a token for anyone (development only)")]
    DevTokensOn,
    #[error("ALLOWED_ORIGINS contains \"*\": any web page may open sockets (development only)")]
    AnyOrigin,
    #[error("{0}")]
    Jwks(#[from] AuthConfigError),
    #[error("{0}")]
    Webhook(#[from] WebhookProblem),
    /// `VAPID_*` set but unusable (SPEC §11).
    #[error("{0}; Web Push is off")]
    Vapid(PushError),
}

/// How bad a [`Problem`] is: an error leaves a part of the service unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

impl Problem {
    /// The variable the problem is about.
    pub fn var(&self) -> &'static str {
        match self {
            Problem::Unparsable { var, .. }
            | Problem::OutOfRange { var, .. }
            | Problem::EmptyList { var, .. } => var,
            Problem::NoTokenKeys => "JWT_SECRET",
            Problem::NoApiKey => "API_KEY",
            Problem::DevTokensOn => "DEV_TOKENS",
            Problem::AnyOrigin => "ALLOWED_ORIGINS",
            Problem::BadJwksUrl => "JWT_JWKS_URL",
            Problem::Jwks(AuthConfigError::Jwks { var, .. })
            | Problem::Jwks(AuthConfigError::JwksKeySkipped { var, .. }) => var,
            Problem::Webhook(w) => w.var(),
            Problem::Vapid(PushError::Config { var, .. }) => var,
            Problem::Vapid(_) => "VAPID_PUBLIC_KEY",
        }
    }

    /// A stable word for the kind of problem (shown by `GET /healthz?deep=1`).
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Unparsable { .. } => "unparsable",
            Problem::OutOfRange { .. } => "out_of_range",
            Problem::EmptyList { .. } => "empty",
            Problem::NoTokenKeys | Problem::NoApiKey => "missing",
            Problem::DevTokensOn | Problem::AnyOrigin => "development_only",
            Problem::Jwks(AuthConfigError::Jwks { .. }) | Problem::BadJwksUrl => "invalid",
            Problem::Vapid(_) => "invalid",
            Problem::Jwks(AuthConfigError::JwksKeySkipped { .. }) => "key_skipped",
            Problem::Webhook(w) => w.kind(),
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Problem::NoTokenKeys
            | Problem::NoApiKey
            | Problem::BadJwksUrl
            | Problem::Jwks(AuthConfigError::Jwks { .. })
            | Problem::Vapid(_) => Severity::Error,
            Problem::Webhook(w) if w.disables() => Severity::Error,
            _ => Severity::Warning,
        }
    }
}

/// Reads `[vars]` through `get`, collecting problems.
struct Reader<'a, F> {
    get: &'a F,
    problems: Vec<Problem>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    /// The value of `var` when set to something other than blanks.
    fn text(&self, var: &str) -> Option<String> {
        (self.get)(var).filter(|v| !v.trim().is_empty())
    }

    /// The value of `n.var` when it follows the rule; else the default, and a problem when
    /// a value was set. A number that does not fit the type (a negative count, a fraction)
    /// is out of range rather than unparsable.
    fn number<T: FromStr + Copy>(&mut self, n: &Number<T>) -> T {
        let Some(raw) = self.text(n.var) else {
            return n.default;
        };
        let (trimmed, value) = (raw.trim(), quoted(&raw));
        let (var, default) = (n.var, n.text);
        self.problems.push(match trimmed.parse::<T>() {
            Ok(v) if (n.ok)(v) => return v,
            Err(_) if trimmed.parse::<f64>().is_err() => Problem::Unparsable {
                var,
                value,
                default,
            },
            _ => Problem::OutOfRange {
                var,
                value,
                rule: n.rule,
                default,
            },
        });
        n.default
    }
}

/// A `[vars]` value as quoted in a log line: at most 32 characters.
fn quoted(value: &str) -> String {
    value.chars().take(32).collect()
}

impl Settings {
    /// Reads each setting by its `[vars]` name; a missing value keeps the default, and so
    /// does a bad one, which is also reported.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<Problem>) {
        let mut r = Reader {
            get: &get,
            problems: Vec::new(),
        };
        let settings = Settings {
            max_frame_bytes: r.number(&MAX_FRAME_BYTES),
            max_content_chars: r.number(&MAX_CONTENT_CHARS),
            rate_per_sec: r.number(&RATE_PER_SEC),
            rate_burst: r.number(&RATE_BURST),
            max_sockets_per_user: r.number(&MAX_SOCKETS_PER_USER),
            resume_limit: r.number(&RESUME_LIMIT),
            presence_grace_ms: r.number(&PRESENCE_GRACE_MS),
            presence_batch_ms: r.number(&PRESENCE_BATCH_MS),
            org_event_retention: r.number(&ORG_EVENT_RETENTION),
            allowed_origins: comma_list(r.text("ALLOWED_ORIGINS"))
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
            max_joined_conversations: r.number(&MAX_JOINED_CONVERSATIONS),
            drop_handoff_seqs: match dev_tokens_on(get("DEV_TOKENS")) {
                true => comma_list(r.text("TEST_DROP_HANDOFF_SEQS"))
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
                false => Vec::new(),
            },
            webhooks: WebhookSettings::default(),
        };
        let (hooks, hook_problems) = webhook::settings(&get, dev_tokens_on(get("DEV_TOKENS")));
        let settings = Settings {
            webhooks: hooks,
            ..settings
        };
        r.problems
            .extend(hook_problems.into_iter().map(Problem::from));
        if settings.allowed_origins.iter().any(|o| o == "*") {
            r.problems.push(Problem::AnyOrigin);
        }
        (settings, r.problems)
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

/// `JWT_USER_ID_CLAIM` (comma list, tried in order) and `JWT_ORGS_CLAIM`; a list that
/// names nothing keeps the default and is reported.
pub fn claim_names(get: impl Fn(&str) -> Option<String>) -> (ClaimNames, Vec<Problem>) {
    let text = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let mut names = ClaimNames::default();
    let mut problems = Vec::new();
    if let Some(raw) = text("JWT_USER_ID_CLAIM") {
        match comma_list(Some(raw)) {
            list if list.is_empty() => problems.push(Problem::EmptyList {
                var: "JWT_USER_ID_CLAIM",
                default: "sub,user_id",
            }),
            list => names.user_id = list,
        }
    }
    if let Some(orgs) = text("JWT_ORGS_CLAIM") {
        names.orgs = orgs.trim().to_string();
    }
    (names, problems)
}

/// `JWT_JWKS_URL`, when set to an `http://` or `https://` URL (else reported and unused).
pub fn jwks_url(raw: Option<String>) -> (Option<String>, Vec<Problem>) {
    let Some(url) = raw.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) else {
        return (None, Vec::new());
    };
    let lower = url.to_ascii_lowercase();
    let has_host = |rest: &str| !rest.is_empty() && !rest.starts_with('/');
    match lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        Some(rest) if has_host(rest) => (Some(url), Vec::new()),
        _ => (None, vec![Problem::BadJwksUrl]),
    }
}

/// The Web Push key pair and contact (SPEC §11): none of `VAPID_PUBLIC_KEY`,
/// `VAPID_PRIVATE_KEY`, `VAPID_SUBJECT` set means push is off, quietly; some or bad ones are
/// a problem (push stays off rather than signing with a key the browsers do not know).
pub fn vapid(get: impl Fn(&str) -> Option<String>) -> (Option<Vapid>, Vec<Problem>) {
    const VARS: [&str; 3] = ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"];
    let values = VARS.map(|v| get(v).filter(|s| !s.trim().is_empty()));
    if values.iter().all(Option::is_none) {
        return (None, Vec::new());
    }
    if let Some(i) = values.iter().position(Option::is_none) {
        let why = "is not set while the other VAPID_* are";
        let problem = Problem::Vapid(PushError::Config { var: VARS[i], why });
        return (None, vec![problem]);
    }
    let [public, private, subject] = values.map(Option::unwrap_or_default);
    match Vapid::new(&public, &private, &subject) {
        Ok(v) => (Some(v), Vec::new()),
        Err(e) => (None, vec![Problem::Vapid(e)]),
    }
}

/// Problems of the secrets and switches: no way to verify a token, no server key, and
/// development tokens switched on.
pub fn secret_problems(
    has_token_keys: bool,
    api_keys: &[String],
    dev_tokens: bool,
) -> Vec<Problem> {
    [
        (!has_token_keys).then_some(Problem::NoTokenKeys),
        api_keys.is_empty().then_some(Problem::NoApiKey),
        dev_tokens.then_some(Problem::DevTokensOn),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `DEV_TOKENS`: on for `1` or `true`.
pub fn dev_tokens_on(raw: Option<String>) -> bool {
    raw.is_some_and(|v| matches!(v.trim(), "1" | "true"))
}

/// Splits a comma list of server API keys (several allow rotation).
pub fn api_keys(raw: Option<String>) -> Vec<String> {
    comma_list(raw)
}

/// The non-empty, trimmed items of a comma list.
fn comma_list(raw: Option<String>) -> Vec<String> {
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
#[path = "config_tests.rs"]
mod tests;
