//! Unit tests of the fetched key set's cache policy: `max-age` parsing and clamping, when a
//! request fetches, waits or uses what is there, and the one-a-minute limits.

use super::*;

const T0: i64 = 1_800_000_000_000;
const SEC: i64 = 1000;

#[test]
fn max_age_is_read_clamped_and_defaulted() {
    let cases = [
        (None, DEFAULT_MAX_AGE_MS),
        (Some("public, max-age=300"), 300 * SEC),
        (Some("MAX-AGE=\"120\", must-revalidate"), 120 * SEC),
        (Some("max-age=5"), MIN_INTERVAL_MS),
        (Some("max-age=0"), MIN_INTERVAL_MS),
        (Some("max-age=604800"), MAX_MAX_AGE_MS),
        (Some("max-age=99999999999999999999"), MAX_MAX_AGE_MS),
        (Some("max-age=-5"), DEFAULT_MAX_AGE_MS),
        (Some("max-age=18446744073709551"), MAX_MAX_AGE_MS),
        (Some("max-age=soon"), DEFAULT_MAX_AGE_MS),
        (Some("public"), DEFAULT_MAX_AGE_MS),
        (Some(""), DEFAULT_MAX_AGE_MS),
        (Some("s-maxage=30, max-age=900"), 900 * SEC),
        (Some("max-age=900, max-age=60"), 900 * SEC),
        (Some("no-store"), MIN_INTERVAL_MS),
        (Some("max-age=3600, no-cache"), MIN_INTERVAL_MS),
    ];
    for (header, want) in cases {
        assert_eq!(max_age_ms(header), want, "{header:?}");
    }
    assert_eq!(DEFAULT_MAX_AGE_MS, 600 * SEC);
    assert_eq!(MAX_MAX_AGE_MS, 86_400 * SEC);
}

/// A schedule whose first fetch succeeded at `T0` with a 10-minute lifetime.
fn loaded() -> Schedule {
    let mut s = Schedule::default();
    assert_eq!(s.next(Need::Fresh, T0), Step::Fetch, "nothing fetched yet");
    s.started(Need::Fresh, T0);
    s.succeeded(T0, DEFAULT_MAX_AGE_MS, 2);
    s
}

#[test]
fn a_set_is_used_until_its_lifetime_ends() {
    let s = loaded();
    assert_eq!(s.next(Need::Fresh, T0 + 1), Step::Use);
    assert_eq!(s.next(Need::Fresh, T0 + DEFAULT_MAX_AGE_MS - 1), Step::Use);
    assert_eq!(s.next(Need::Fresh, T0 + DEFAULT_MAX_AGE_MS), Step::Fetch);
    assert_eq!(
        s.health(),
        JwksHealth {
            last_fetch: LastFetch::Ok,
            keys: 2
        }
    );
}

#[test]
fn an_unknown_kid_refetches_at_most_once_a_minute() {
    let mut s = loaded();
    // Right after the first load: a rotation is picked up at once.
    assert_eq!(s.next(Need::Kid, T0 + SEC), Step::Fetch);
    s.started(Need::Kid, T0 + SEC);
    s.succeeded(T0 + 2 * SEC, DEFAULT_MAX_AGE_MS, 1);
    for later in [2 * SEC, 30 * SEC, 60 * SEC] {
        assert_eq!(s.next(Need::Kid, T0 + later), Step::Use, "+{later} ms");
    }
    assert_eq!(s.next(Need::Kid, T0 + 61 * SEC), Step::Fetch);
    // A scheduled refresh does not use up the unknown-kid allowance, nor the other way.
    assert_eq!(s.next(Need::Fresh, T0 + 61 * SEC), Step::Use);
}

#[test]
fn a_failed_fetch_keeps_the_set_and_pauses_fetching_for_a_minute() {
    let mut s = loaded();
    let stale = T0 + DEFAULT_MAX_AGE_MS;
    s.started(Need::Fresh, stale);
    s.failed(stale + SEC);
    let failed = JwksHealth {
        last_fetch: LastFetch::Failed,
        keys: 2,
    };
    assert_eq!(s.health(), failed, "the last good set is kept");
    for need in [Need::Fresh, Need::Kid] {
        assert_eq!(s.next(need, stale + 2 * SEC), Step::Use, "{need:?}");
        assert_eq!(s.next(need, stale + 60 * SEC), Step::Use, "{need:?}");
        assert_eq!(s.next(need, stale + 61 * SEC), Step::Fetch, "{need:?}");
    }
}

#[test]
fn a_first_fetch_that_fails_is_retried_after_a_minute() {
    let mut s = Schedule::default();
    s.started(Need::Fresh, T0);
    s.failed(T0 + SEC);
    let failed = JwksHealth {
        last_fetch: LastFetch::Failed,
        keys: 0,
    };
    assert_eq!(s.health(), failed);
    assert_eq!(s.next(Need::Fresh, T0 + 30 * SEC), Step::Use);
    assert_eq!(s.next(Need::Fresh, T0 + 61 * SEC), Step::Fetch);
}

#[test]
fn a_fetch_under_way_is_joined_when_it_may_help() {
    let mut s = Schedule::default();
    s.started(Need::Fresh, T0);
    assert_eq!(s.next(Need::Fresh, T0 + 10), Step::Wait, "the first set");
    assert_eq!(s.next(Need::Kid, T0 + 10), Step::Wait);
    s.succeeded(T0 + 20, DEFAULT_MAX_AGE_MS, 1);
    assert_eq!(s.next(Need::Fresh, T0 + 30), Step::Use);

    let stale = T0 + DEFAULT_MAX_AGE_MS;
    s.started(Need::Fresh, stale);
    // A refresh under way: the old set serves meanwhile; an unknown kid waits for the new one.
    assert_eq!(s.next(Need::Fresh, stale + 10), Step::Use);
    assert_eq!(s.next(Need::Kid, stale + 10), Step::Wait);
}

#[test]
fn an_abandoned_fetch_stops_being_waited_for() {
    let mut s = Schedule::default();
    s.started(Need::Fresh, T0);
    assert_eq!(
        s.next(Need::Fresh, T0 + 2 * FETCH_TIMEOUT_MS - 1),
        Step::Wait
    );
    assert_eq!(s.next(Need::Fresh, T0 + 2 * FETCH_TIMEOUT_MS), Step::Fetch);
    assert_eq!(Schedule::default().health().last_fetch, LastFetch::Never);
}
