//! When the Worker fetches the key set of `JWT_JWKS_URL` (SPEC §8): the set is kept per
//! isolate for the response's `Cache-Control: max-age` (default 10 min, at least 1 min, at
//! most 24 h); a token whose `kid` is unknown triggers one refetch, at most once a minute;
//! after a failed fetch nothing is fetched for a minute and the last good set is used. A
//! fetch under way is joined, not repeated, when it may bring what a request needs. Pure
//! decisions over a clock the caller passes in; the fetch itself is the platform's.

use serde::Serialize;

/// A set's lifetime when its response names none (or none that can be read).
pub const DEFAULT_MAX_AGE_MS: i64 = 10 * 60_000;
/// The longest a set is kept without a fetch.
pub const MAX_MAX_AGE_MS: i64 = 24 * 3_600_000;
/// The shortest time between two fetches for unknown kids, the pause after a failed fetch,
/// and the shortest lifetime a set gets.
pub const MIN_INTERVAL_MS: i64 = 60_000;
/// How long one fetch may take (the platform aborts it then).
pub const FETCH_TIMEOUT_MS: i64 = 5_000;
/// A fetch started longer ago than this is taken as abandoned (its request went away).
const IN_FLIGHT_LIMIT_MS: i64 = 2 * FETCH_TIMEOUT_MS;
/// The largest key set body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The lifetime `Cache-Control` gives a fetched set: `max-age` clamped to
/// [`MIN_INTERVAL_MS`]..=[`MAX_MAX_AGE_MS`]; `no-store` / `no-cache` get the minimum; no
/// header, or no readable `max-age`, the default.
pub fn max_age_ms(cache_control: Option<&str>) -> i64 {
    let Some(header) = cache_control else {
        return DEFAULT_MAX_AGE_MS;
    };
    let mut max_age = None;
    for directive in header.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" {
            return MIN_INTERVAL_MS;
        }
        if let Some(value) = directive.strip_prefix("max-age=") {
            max_age = max_age.or(seconds(value.trim().trim_matches('"')));
        }
    }
    max_age.map_or(DEFAULT_MAX_AGE_MS, |ms| {
        i64::try_from(ms)
            .unwrap_or(i64::MAX)
            .clamp(MIN_INTERVAL_MS, MAX_MAX_AGE_MS)
    })
}

/// A delta-seconds value in milliseconds; digits too many for a number are "very long".
fn seconds(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        value
            .parse::<u64>()
            .unwrap_or(u64::MAX)
            .saturating_mul(1000),
    )
}

/// What a request needs from the fetched set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Before verifying a public-key token: a set that is not past its lifetime.
    Fresh,
    /// After the token's `kid` was not found: a newer set that may have it.
    Kid,
}

/// What the request does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Verify with the set there is.
    Use,
    /// Another request's fetch is under way and may bring what is needed: wait for it.
    Wait,
    /// Fetch now (call [`Schedule::started`] first).
    Fetch,
}

/// How the last fetch went, for `GET /healthz?deep=1`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LastFetch {
    #[default]
    Never,
    Ok,
    Failed,
}

/// The fetched set's state as `GET /healthz?deep=1` shows it (no key material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JwksHealth {
    pub last_fetch: LastFetch,
    /// Usable keys of the last good set.
    pub keys: usize,
}

/// The fetch schedule of one isolate's set.
#[derive(Debug, Default, Clone)]
pub struct Schedule {
    /// Set by the first good fetch.
    fresh_until_ms: Option<i64>,
    in_flight_since_ms: Option<i64>,
    last_kid_fetch_ms: Option<i64>,
    last_failure_ms: Option<i64>,
    last: LastFetch,
    keys: usize,
}

impl Schedule {
    /// What a request that needs `need` does at `now` (Unix milliseconds).
    pub fn next(&self, need: Need, now: i64) -> Step {
        if self.in_flight(now) {
            let may_help = need == Need::Kid || self.fresh_until_ms.is_none();
            return if may_help { Step::Wait } else { Step::Use };
        }
        if self.resting(now) {
            return Step::Use;
        }
        let due = match need {
            Need::Fresh => self.fresh_until_ms.is_none_or(|t| now >= t),
            Need::Kid => self
                .last_kid_fetch_ms
                .is_none_or(|t| now - t >= MIN_INTERVAL_MS),
        };
        if due {
            Step::Fetch
        } else {
            Step::Use
        }
    }

    /// A fetch for `need` starts at `now`.
    pub fn started(&mut self, need: Need, now: i64) {
        self.in_flight_since_ms = Some(now);
        if need == Need::Kid {
            self.last_kid_fetch_ms = Some(now);
        }
    }

    /// The fetch brought a set of `keys` usable keys, to keep for `max_age_ms`.
    pub fn succeeded(&mut self, now: i64, max_age_ms: i64, keys: usize) {
        self.in_flight_since_ms = None;
        self.fresh_until_ms = Some(now.saturating_add(max_age_ms));
        self.last = LastFetch::Ok;
        self.keys = keys;
    }

    /// The fetch failed: the last good set stays, and nothing is fetched for a minute.
    pub fn failed(&mut self, now: i64) {
        self.in_flight_since_ms = None;
        self.last_failure_ms = Some(now);
        self.last = LastFetch::Failed;
    }

    pub fn health(&self) -> JwksHealth {
        JwksHealth {
            last_fetch: self.last,
            keys: self.keys,
        }
    }

    fn in_flight(&self, now: i64) -> bool {
        self.in_flight_since_ms
            .is_some_and(|t| now - t < IN_FLIGHT_LIMIT_MS)
    }

    fn resting(&self, now: i64) -> bool {
        self.last == LastFetch::Failed
            && self
                .last_failure_ms
                .is_some_and(|t| now - t < MIN_INTERVAL_MS)
    }
}

#[cfg(test)]
#[path = "jwks_tests.rs"]
mod tests;
