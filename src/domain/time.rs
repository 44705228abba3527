//! Time as the contract shows it: ISO 8601 UTC with milliseconds (`2026-11-22T10:00:00.000Z`).
//! The clock itself belongs to the platform; domain code is handed `now_ms`.

use chrono::{DateTime, SecondsFormat};

/// Formats Unix milliseconds as an ISO 8601 UTC timestamp.
pub fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(super::iso(1_795_341_600_123), "2026-11-22T10:00:00.123Z");
        assert_eq!(super::iso(0), "1970-01-01T00:00:00.000Z");
    }
}
