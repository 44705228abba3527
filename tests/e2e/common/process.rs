//! Ending the processes a `wrangler dev` started: a graceful SIGTERM to its process tree, and
//! a `kill -9` of its whole process group (wrangler and workerd at the same instant, as a
//! machine losing power would), both read from /proc.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(100);
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the killed processes may take to disappear (the kernel reaps them at once;
/// this is a hang guard).
const KILL_WAIT: Duration = Duration::from_secs(30);

/// SIGTERM to wrangler and everything it started, up to [`STOP_GRACE`] to exit, then SIGKILL.
pub fn terminate(mut child: Child) {
    let tree = process_tree(child.id());
    signal(&tree, "-TERM");
    let start = Instant::now();
    while start.elapsed() < STOP_GRACE {
        if matches!(child.try_wait(), Ok(Some(_))) && tree.iter().all(|p| !alive(*p)) {
            return;
        }
        sleep(POLL_EVERY);
    }
    let left: Vec<u32> = tree.into_iter().filter(|p| alive(*p)).collect();
    eprintln!("wrangler did not exit within {STOP_GRACE:?} of SIGTERM; killing {left:?}");
    signal(&left, "-KILL");
    let _ = child.wait();
}

/// `kill -9 -<pgid>`: SIGKILL to every process of the group `child` leads (it must have been
/// spawned as a group leader), then waits until none of them is left. Nothing gets to
/// flush, close a database or answer a socket.
pub fn kill_group(mut child: Child) -> Result<(), String> {
    let pgid = child.id();
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if !status.success() {
        return Err(format!("kill -KILL -{pgid} failed ({status})"));
    }
    let _ = child.wait();
    let start = Instant::now();
    loop {
        let left = group_members(pgid);
        if left.is_empty() {
            return Ok(());
        }
        if start.elapsed() > KILL_WAIT {
            return Err(format!("process group {pgid} still has {left:?}"));
        }
        sleep(POLL_EVERY);
    }
}

fn signal(pids: &[u32], sig: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(sig)
        .args(pids.iter().map(u32::to_string))
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry but is gone for our purposes.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| stat_field(&s, 0) != Some("Z"))
        .unwrap_or(false)
}

/// Every live (non-zombie) process as (pid, ppid, pgrp), from /proc.
fn processes() -> Vec<(u32, u32, u32)> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            if stat_field(&stat, 0) == Some("Z") {
                return None;
            }
            let ppid = stat_field(&stat, 1)?.parse().ok()?;
            let pgrp = stat_field(&stat, 2)?.parse().ok()?;
            Some((pid, ppid, pgrp))
        })
        .collect()
}

/// The live processes of group `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, _, g)| *g == pgid)
        .map(|(p, _, _)| p)
        .collect()
}

/// `root` and its descendants, from /proc (empty of descendants where /proc is absent).
fn process_tree(root: u32) -> Vec<u32> {
    let all = processes();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            all.iter()
                .filter(|(_, pp, _)| *pp == parent)
                .map(|(p, _, _)| *p),
        );
        i += 1;
    }
    tree
}

/// Field `n` after the command name in /proc/<pid>/stat (0 = state, 1 = ppid, 2 = pgrp).
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    stat.rsplit_once(')')?.1.split_whitespace().nth(n)
}
