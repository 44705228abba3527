//! The body of `GET /healthz?deep=1`: D1's state, the configuration problems by variable
//! and kind (never a value), and with `JWT_JWKS_URL` the fetched key set's state (never key
//! material).

use serde::Serialize;

use super::config::Problem;
use super::jwks::JwksHealth;

/// A problem as `GET /healthz?deep=1` shows it: the variable and the kind, no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemName {
    pub var: &'static str,
    pub kind: &'static str,
}

/// The body of `GET /healthz?deep=1`: healthy when D1 answers; configuration problems are
/// listed but do not make it unhealthy (the service runs with the defaults), and neither
/// does a failed key set fetch (`jwks`, only with `JWT_JWKS_URL`: the last good set is used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeepHealth {
    pub ok: bool,
    pub d1: &'static str,
    pub problems: Vec<ProblemName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<JwksHealth>,
}

impl DeepHealth {
    pub fn new(d1_reachable: bool, problems: &[Problem]) -> Self {
        DeepHealth {
            ok: d1_reachable,
            d1: if d1_reachable { "ok" } else { "unreachable" },
            problems: problems
                .iter()
                .map(|p| ProblemName {
                    var: p.var(),
                    kind: p.kind(),
                })
                .collect(),
            jwks: None,
        }
    }

    /// The same report with the state of the key set fetched from `JWT_JWKS_URL`.
    pub fn with_jwks(mut self, jwks: Option<JwksHealth>) -> Self {
        self.jwks = jwks;
        self
    }

    /// 200 when healthy, else 503 (so a load balancer or uptime check sees it).
    pub fn status(&self) -> u16 {
        if self.ok {
            200
        } else {
            503
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::jwks::LastFetch;

    #[test]
    fn deep_health_names_problems_without_values() {
        let problems = [
            Problem::Unparsable {
                var: "RESUME_LIMIT",
                value: "lots".into(),
                default: "1000",
            },
            Problem::DevTokensOn,
        ];
        let healthy = DeepHealth::new(true, &problems);
        assert_eq!(healthy.status(), 200);
        assert_eq!(
            serde_json::to_value(&healthy).unwrap(),
            serde_json::json!({"ok": true, "d1": "ok", "problems": [
                {"var": "RESUME_LIMIT", "kind": "unparsable"},
                {"var": "DEV_TOKENS", "kind": "development_only"},
            ]})
        );
        let down = DeepHealth::new(false, &[]);
        assert_eq!(down.status(), 503);
        assert_eq!(
            serde_json::to_value(&down).unwrap(),
            serde_json::json!({"ok": false, "d1": "unreachable", "problems": []})
        );
    }

    #[test]
    fn deep_health_shows_the_fetched_key_set_without_keys() {
        let jwks = JwksHealth {
            last_fetch: LastFetch::Failed,
            keys: 2,
        };
        let report = DeepHealth::new(true, &[]).with_jwks(Some(jwks));
        assert_eq!(
            report.status(),
            200,
            "a failed fetch keeps the last good set"
        );
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            serde_json::json!({"ok": true, "d1": "ok", "problems": [],
                "jwks": {"last_fetch": "failed", "keys": 2}})
        );
    }
}
