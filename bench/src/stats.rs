//! Latency histograms (HdrHistogram, microsecond resolution) and their JSON summary.

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Latencies in microseconds, 1 µs to 10 min, 3 significant digits.
pub struct Lat(Histogram<u64>);

impl Default for Lat {
    fn default() -> Self {
        Lat(Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"))
    }
}

impl Lat {
    /// Records a latency given in nanoseconds (clamped to the histogram's range).
    pub fn record_ns(&mut self, ns: u64) {
        self.0.saturating_record((ns / 1_000).max(1));
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Lat) {
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// `{count, p50_ms, p90_ms, p99_ms, max_ms}`.
    pub fn summary(&self) -> Value {
        let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
        if self.0.is_empty() {
            return json!({"count": 0});
        }
        json!({
            "count": self.0.len(),
            "p50_ms": ms(self.0.value_at_quantile(0.50)),
            "p90_ms": ms(self.0.value_at_quantile(0.90)),
            "p99_ms": ms(self.0.value_at_quantile(0.99)),
            "max_ms": ms(self.0.max()),
        })
    }
}

/// `count / seconds`, rounded to one decimal; 0 when no time passed.
pub fn rate(count: u64, nanos: u64) -> f64 {
    if nanos == 0 {
        return 0.0;
    }
    (count as f64 / (nanos as f64 / 1e9) * 10.0).round() / 10.0
}
