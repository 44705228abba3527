//! What the push service's answer means and when a failed push is tried again: 2xx is
//! delivered (201/202 in practice), 404/410 means the subscription is gone for good,
//! 429/5xx and network errors are retried with backoff and jitter (as the outbox and
//! webhooks are) within a bounded number of attempts and the push's own TTL, and anything
//! else (400, 401, 403, 413: our request is wrong) is given up at once, since repeating it
//! cannot help.

use super::TTL_SECS;
use crate::domain::replica::{backoff_ms, jittered};

/// Attempts after which a push that keeps failing is given up (logged).
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between two attempts.
pub const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;

/// What to do after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The subscription expired or was revoked: delete it.
    Gone,
    /// Try again later (`Retry-After` seconds, when the service said).
    Retry(Option<u32>),
    /// Our request is refused as it is: drop it.
    Refused,
}

/// The outcome of an HTTP answer (`None`: no answer, a network error or timeout).
pub fn outcome(status: Option<u16>, retry_after: Option<&str>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(404 | 410) => Outcome::Gone,
        Some(429 | 500..=599) | None => {
            Outcome::Retry(retry_after.and_then(|s| s.trim().parse().ok()))
        }
        Some(_) => Outcome::Refused,
    }
}

/// When a push that failed its `attempts`-th time (1 = the first) runs again, or `None` to
/// give up: out of attempts, or past the TTL it was sent with (the service would drop it).
pub fn retry_at(
    attempts: u32,
    queued_at: i64,
    now: i64,
    after: Option<u32>,
    r: u64,
) -> Option<i64> {
    let expires = queued_at + i64::from(TTL_SECS) * 1000;
    if attempts >= MAX_ATTEMPTS || now >= expires {
        return None;
    }
    let wait = match after {
        Some(secs) => (i64::from(secs) * 1000).min(MAX_BACKOFF_MS),
        None => jittered(backoff_ms(attempts, MAX_BACKOFF_MS), r),
    };
    Some(now + wait).filter(|at| *at < expires)
}

/// The `TTL` header for a push queued at `queued_at`: what is left of [`TTL_SECS`].
pub fn ttl_left(queued_at: i64, now: i64) -> u32 {
    let left = i64::from(TTL_SECS) - (now - queued_at).max(0) / 1000;
    left.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(outcome(Some(201), None), Outcome::Delivered);
        assert_eq!(outcome(Some(202), None), Outcome::Delivered);
        assert_eq!(outcome(Some(404), None), Outcome::Gone);
        assert_eq!(outcome(Some(410), None), Outcome::Gone);
        assert_eq!(outcome(Some(429), Some("7")), Outcome::Retry(Some(7)));
        assert_eq!(outcome(Some(503), Some("soon")), Outcome::Retry(None));
        assert_eq!(outcome(None, None), Outcome::Retry(None));
        assert_eq!(outcome(Some(400), None), Outcome::Refused);
        assert_eq!(outcome(Some(413), None), Outcome::Refused);
    }

    #[test]
    fn retries_back_off_and_stop() {
        let t0 = 1_000_000;
        let first = retry_at(1, t0, t0, None, 0).unwrap();
        let later = retry_at(5, t0, t0, None, 0).unwrap();
        assert!(first > t0 && later > first);
        assert_eq!(retry_at(2, t0, t0, Some(30), 0), Some(t0 + 30_000));
        assert_eq!(
            retry_at(2, t0, t0, Some(99_999), 0),
            Some(t0 + MAX_BACKOFF_MS)
        );
        assert_eq!(retry_at(MAX_ATTEMPTS, t0, t0, None, 0), None);
        let past_ttl = t0 + i64::from(TTL_SECS) * 1000;
        assert_eq!(retry_at(1, t0, past_ttl, None, 0), None);
        assert_eq!(ttl_left(t0, t0 + 60_000), TTL_SECS - 60);
        assert_eq!(ttl_left(t0, past_ttl + 5_000), 0);
    }
}
