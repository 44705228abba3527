//! The `wrangler dev` process under test: fresh local state, free ports, D1 migrations,
//! readiness polling and a teardown that also ends the processes wrangler started.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the first `wrangler dev` may take to answer `/healthz` (it builds the Worker).
/// `E2E_READY_TIMEOUT_SECS` overrides it.
const READY_TIMEOUT: Duration = Duration::from_secs(240);
const POLL_EVERY: Duration = Duration::from_millis(250);
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long [`Server::d1_until`] waits for the outbox to copy rows to D1.
const D1_WAIT: Duration = Duration::from_secs(60);

/// A running `wrangler dev` with its own persisted state under `target/e2e-state/`.
pub struct Server {
    pub(super) port: u16,
    state_dir: PathBuf,
    log_path: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Server {
    /// Starts a server with the configuration of `wrangler.toml` and `.dev.vars`.
    pub fn start() -> Server {
        Server::start_with_vars(&[])
    }

    /// Starts a server with `[vars]` overridden (`--var KEY:VALUE`); panics if it cannot.
    pub fn start_with_vars(vars: &[(&str, &str)]) -> Server {
        Server::try_start(vars).unwrap_or_else(|why| panic!("{why}"))
    }

    /// Like [`Server::start_with_vars`], with the reason (and the log tail) as the error.
    pub fn try_start(vars: &[(&str, &str)]) -> Result<Server, String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let (port, inspector) = free_ports();
        let base = root.join("target").join("e2e-state");
        let run = format!("{}-{}", std::process::id(), now_millis());
        let state_dir = base.join(&run);
        fs::create_dir_all(&state_dir).map_err(|e| format!("create {state_dir:?}: {e}"))?;
        let log_path = base.join(format!("wrangler-{run}.log"));
        let child = apply_migrations(&root, &state_dir)
            .and_then(|()| spawn_wrangler(&root, &state_dir, &log_path, port, inspector, vars))
            .inspect_err(|_| {
                let _ = fs::remove_dir_all(&state_dir);
            })?;
        let server = Server {
            port,
            state_dir,
            log_path,
            child: Mutex::new(Some(child)),
        };
        if let Err(why) = server.wait_ready() {
            let tail = server.log_tail(60);
            server.stop(true);
            return Err(format!(
                "wrangler dev did not become ready: {why}\n--- log tail ---\n{tail}"
            ));
        }
        Ok(server)
    }

    /// Ends wrangler and its children and removes the state dir. The log is removed too
    /// unless `keep_log` (its path is printed so a failure can be investigated).
    pub fn stop(&self, keep_log: bool) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(child) = child {
            terminate(child);
        }
        let _ = fs::remove_dir_all(&self.state_dir);
        if keep_log {
            eprintln!("wrangler log kept at {}", self.log_path.display());
        } else {
            let _ = fs::remove_file(&self.log_path);
        }
    }

    /// Runs SQL on this server's local D1 (the same SQLite file the Worker uses), e.g. to
    /// make D1 fail while the Worker keeps running.
    pub fn d1_execute(&self, sql: &str) -> Result<(), String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let out = wrangler(&root)
            .args(["d1", "execute", "DB", "--local", "--persist-to"])
            .arg(&self.state_dir)
            .args(["--command", sql])
            .output()
            .map_err(|e| format!("cannot run wrangler: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "d1 execute {sql:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Reads this server's local D1 directly and returns the result rows.
    pub fn d1_query(&self, sql: &str) -> Result<Vec<serde_json::Value>, String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let out = wrangler(&root)
            .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
            .arg(&self.state_dir)
            .args(["--command", sql])
            .output()
            .map_err(|e| format!("cannot run wrangler: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let parsed: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("d1 query {sql:?}: {e}: {text}"))?;
        Ok(parsed[0]["results"].as_array().cloned().unwrap_or_default())
    }

    /// Polls this server's D1 until the rows `sql` returns satisfy `ready` (the outbox copies
    /// asynchronously); the rows, or an error with the last rows after about a minute.
    pub fn d1_until(
        &self,
        sql: &str,
        ready: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Result<Vec<serde_json::Value>, String> {
        let start = Instant::now();
        loop {
            let rows = self.d1_query(sql)?;
            if ready(&rows) {
                return Ok(rows);
            }
            if start.elapsed() > D1_WAIT {
                return Err(format!("D1 never got there for {sql}: {rows:?}"));
            }
            sleep(POLL_EVERY);
        }
    }

    /// The last `lines` lines of the wrangler log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn wait_ready(&self) -> Result<(), String> {
        let limit = std::env::var("E2E_READY_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(READY_TIMEOUT, Duration::from_secs);
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(5))
            .build();
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.exit_status() {
                return Err(format!("wrangler exited early ({status})"));
            }
            if matches!(agent.get(&url).call(), Ok(r) if r.status() == 200) {
                return Ok(());
            }
            sleep(POLL_EVERY);
        }
        Err(format!("no 200 from {url} within {limit:?}"))
    }

    fn exit_status(&self) -> Option<String> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let child = guard.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let running = self.child.get_mut().map(|c| c.is_some()).unwrap_or(false);
        if running {
            self.stop(std::thread::panicking());
        }
    }
}

fn wrangler(root: &Path) -> Command {
    let mut cmd = Command::new(root.join("node_modules/.bin/wrangler"));
    cmd.current_dir(root).env("CI", "true").stdin(Stdio::null());
    cmd
}

fn apply_migrations(root: &Path, state_dir: &Path) -> Result<(), String> {
    let out = wrangler(root)
        .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
        .arg(state_dir)
        .output()
        .map_err(|e| format!("cannot run wrangler (run `npm ci` / scripts/setup.sh): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "wrangler d1 migrations apply failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn spawn_wrangler(
    root: &Path,
    state_dir: &Path,
    log_path: &Path,
    port: u16,
    inspector: u16,
    vars: &[(&str, &str)],
) -> Result<Child, String> {
    let log = File::create(log_path).map_err(|e| format!("create {log_path:?}: {e}"))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = wrangler(root);
    cmd.args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &inspector.to_string(), "--persist-to"])
        .arg(state_dir)
        .args([
            "--log-level",
            "warn",
            "--show-interactive-dev-session=false",
        ])
        .stdout(log2)
        .stderr(log);
    for (key, value) in vars {
        cmd.arg("--var").arg(format!("{key}:{value}"));
    }
    cmd.spawn().map_err(|e| format!("spawn wrangler dev: {e}"))
}

/// SIGTERM to wrangler and everything it started, up to [`STOP_GRACE`] to exit, then SIGKILL.
fn terminate(mut child: Child) {
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

/// `root` and its descendants, from /proc (empty of descendants where /proc is absent).
fn process_tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, stat_field(&stat, 1)?.parse().ok()?))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// Field `n` after the command name in /proc/<pid>/stat (0 = state, 1 = ppid).
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    stat.rsplit_once(')')?.1.split_whitespace().nth(n)
}

/// Two distinct free ports (both are held while the second is chosen).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("local addr").port();
    (port(&a), port(&b))
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
