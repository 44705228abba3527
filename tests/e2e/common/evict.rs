//! Proof that an object hibernated: every object answer to an API call carries
//! `x-rt-instance`, random per object instance, so a new value means the runtime evicted the
//! object and built it again from storage and its sockets' attachments.
//!
//! Every request to an object resets its idle timer, so polling often keeps it awake:
//! measured on local workerd, polls 2, 5 and 8 s apart never saw a new instance in 50 s,
//! while polls 11 s apart saw one each time (the idle timeout is about 10 s). So this
//! polls with gaps longer than that.

use std::thread::sleep;
use std::time::{Duration, Instant};

use super::Server;

pub const INSTANCE_HEADER: &str = "x-rt-instance";
/// Longer than local workerd's idle timeout (about 10 s), so a poll does not keep the
/// object awake.
const GAP: Duration = Duration::from_secs(12);
const DEADLINE: Duration = Duration::from_secs(60);

impl Server {
    /// The `x-rt-instance` of the object behind `GET path` (server key); panics if the
    /// answer has none.
    pub fn instance(&self, path: &str) -> String {
        let (status, body, instance) = self.get_with_header(path, INSTANCE_HEADER);
        assert_eq!(status, 200, "GET {path}: {body}");
        instance.unwrap_or_else(|| panic!("GET {path}: no {INSTANCE_HEADER} header"))
    }

    /// Waits until the object behind `GET path` (any API read that reaches it, e.g. a
    /// room's presence) has been evicted and started again: its instance changes. Errs
    /// after a minute if it never does, so a trial about hibernation fails when the object
    /// never hibernated. The last poll has woken the object again (from storage).
    pub fn wait_evicted(&self, path: &str) -> Result<(), String> {
        let before = self.instance(path);
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            sleep(GAP);
            if self.instance(path) != before {
                return Ok(());
            }
        }
        Err(format!(
            "the object behind {path} was never evicted within {DEADLINE:?} (instance {before})"
        ))
    }
}
