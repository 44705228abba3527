//! Per-socket rate limiting: a token bucket whose state is small enough to live in the
//! socket attachment, so it survives hibernation.

use serde::{Deserialize, Serialize};

/// Consecutive `rate_limited` answers after which a socket is closed with 1008.
pub const MAX_STRIKES: u32 = 20;

/// Bucket state: tokens left, when they were counted, and refusals in a row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    #[serde(rename = "t")]
    pub tokens: f64,
    #[serde(rename = "at")]
    pub at_ms: i64,
    #[serde(rename = "x", default)]
    pub strikes: u32,
}

/// What to do with one incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Answer `rate_limited` and drop the frame.
    Limited,
    /// Close with 1008: the client ignored the `rate_limited` answers.
    Close,
}

impl Bucket {
    pub fn full(burst: f64, now_ms: i64) -> Self {
        Bucket {
            tokens: burst,
            at_ms: now_ms,
            strikes: 0,
        }
    }

    /// Takes `tokens` more for work a frame asked for beyond itself (a resume's replay). The
    /// bucket may go below zero: the next frames then wait until it has refilled.
    pub fn charge(&mut self, tokens: f64) {
        self.tokens -= tokens.max(0.0);
    }

    /// Gives back part of a frame's token (a session's `join_conversation` costs a tenth
    /// of a frame, so rejoining every conversation after a reconnect fits in the burst).
    pub fn refund(&mut self, tokens: f64, burst: f64) {
        self.tokens = (self.tokens + tokens.max(0.0)).min(burst);
    }

    /// Takes one token for a frame arriving at `now_ms`.
    pub fn take(&mut self, rate_per_sec: f64, burst: f64, now_ms: i64) -> Verdict {
        let elapsed = (now_ms - self.at_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate_per_sec).min(burst);
        self.at_ms = now_ms.max(self.at_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.strikes = 0;
            Verdict::Allow
        } else {
            self.strikes += 1;
            if self.strikes > MAX_STRIKES {
                Verdict::Close
            } else {
                Verdict::Limited
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charge_is_paid_back_before_the_next_frame() {
        let mut b = Bucket::full(30.0, 0);
        b.charge(35.0);
        assert_eq!(b.take(10.0, 30.0, 0), Verdict::Limited, "in debt");
        // 0.6 s at 10/s pays back the 5 owed and one more token.
        assert_eq!(b.take(10.0, 30.0, 600), Verdict::Allow);
    }

    #[test]
    fn a_refund_never_lifts_the_bucket_over_its_burst() {
        let mut b = Bucket::full(30.0, 0);
        b.refund(5.0, 30.0);
        assert_eq!(b.tokens, 30.0);
        for _ in 0..100 {
            assert_eq!(b.take(10.0, 30.0, 0), Verdict::Allow);
            b.refund(0.9, 30.0);
        }
        assert!((b.tokens - 20.0).abs() < 1e-9, "{}", b.tokens);
    }

    #[test]
    fn burst_then_limited_then_closed() {
        let mut b = Bucket::full(30.0, 0);
        for i in 0..30 {
            assert_eq!(b.take(10.0, 30.0, 0), Verdict::Allow, "frame {i}");
        }
        for _ in 0..MAX_STRIKES {
            assert_eq!(b.take(10.0, 30.0, 0), Verdict::Limited);
        }
        assert_eq!(b.take(10.0, 30.0, 0), Verdict::Close);
    }

    #[test]
    fn refills_at_the_rate_and_forgives_strikes() {
        let mut b = Bucket::full(30.0, 0);
        for _ in 0..30 {
            b.take(10.0, 30.0, 0);
        }
        assert_eq!(b.take(10.0, 30.0, 50), Verdict::Limited);
        assert_eq!(
            b.take(10.0, 30.0, 150),
            Verdict::Allow,
            "one token after 100 ms at 10/s"
        );
        assert_eq!(b.strikes, 0);
        b.take(10.0, 30.0, 100_000);
        assert!(b.tokens <= 30.0, "never above the burst");
    }

    #[test]
    fn survives_a_round_trip_through_json() {
        let b = Bucket {
            tokens: 2.5,
            at_ms: 7,
            strikes: 1,
        };
        let text = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Bucket>(&text).unwrap(), b);
    }
}
