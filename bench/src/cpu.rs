//! CPU time of processes from /proc/<pid>/stat (utime + stime, every thread of the process),
//! as the server-side cost of a scenario.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};

/// How long after the last receipt the CPU window stays open.
pub const TAIL: Duration = Duration::from_secs(1);

/// Quiet: at most this share of one core over a probe window.
const QUIET_SHARE: f64 = 0.05;
const PROBE: Duration = Duration::from_millis(500);
/// At most this many probes (10 s) before measuring anyway.
const PROBES: usize = 20;

/// Clock ticks per second (`getconf CLK_TCK`, 100 when it cannot be asked).
fn hz() -> f64 {
    static HZ: OnceLock<f64> = OnceLock::new();
    *HZ.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Ticks → milliseconds.
pub fn ms(ticks: u64) -> f64 {
    ticks as f64 * 1000.0 / hz()
}

fn pid_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut f = stat.rsplit_once(')')?.1.split_whitespace();
    // After the command name: state is field 0, utime 11, stime 12.
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// utime + stime summed over `pids`; None when there are none or one is gone.
pub fn ticks(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|p| pid_ticks(&p.to_string())).sum()
}

/// The generator's own CPU time.
pub fn self_ticks() -> Option<u64> {
    pid_ticks("self")
}

/// Waits (bounded) until `pids` use under 5 % of a core over half a second; returns the
/// rate of the last probe in ms of CPU per second, and how long the wait took.
pub async fn quiet(pids: &[u32]) -> Option<(f64, f64)> {
    let start = std::time::Instant::now();
    let mut last = None;
    for _ in 0..PROBES {
        let a = ticks(pids)?;
        tokio::time::sleep(PROBE).await;
        let b = ticks(pids)?;
        let per_s = ms(b.saturating_sub(a)) / PROBE.as_secs_f64();
        last = Some(per_s);
        if per_s <= QUIET_SHARE * 1000.0 {
            break;
        }
    }
    last.map(|r| (r, start.elapsed().as_secs_f64()))
}

/// The CPU block of a result: total over the window, per message and per delivery, and the
/// same net of the idle rate.
pub fn summary(
    pids: &[u32],
    start: Option<u64>,
    end: Option<u64>,
    window_ns: u64,
    idle: Option<(f64, f64)>,
    messages: u64,
    deliveries: u64,
) -> Value {
    let (Some(a), Some(b)) = (start, end) else {
        return json!({ "workerd_pids": pids, "measured": false });
    };
    let total = ms(b.saturating_sub(a));
    let window_s = window_ns as f64 / 1e9;
    let idle_rate = idle.map(|(r, _)| r).unwrap_or(0.0);
    let net = (total - idle_rate * window_s).max(0.0);
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let per = |x: f64, n: u64| {
        if n == 0 {
            json!(null)
        } else {
            json!(r3(x / n as f64))
        }
    };
    json!({
        "workerd_pids": pids, "measured": true, "clk_tck": hz(),
        "window_s": r3(window_s), "workerd_cpu_ms": r3(total),
        "busy_share": r3(total / 1000.0 / window_s.max(1e-9)),
        "idle_ms_per_s": idle.map(|(r, _)| r3(r)), "quiet_wait_s": idle.map(|(_, w)| r3(w)),
        "cpu_ms_per_message": per(total, messages),
        "net_cpu_ms_per_message": per(net, messages),
        "cpu_us_per_delivery": per(total * 1000.0, deliveries),
    })
}
