//! The `wrangler dev` process under test: its state dir (fresh, an unpacked fixture, or the
//! one a killed server left), free ports, D1 migrations, readiness polling, a graceful stop
//! and a `kill -9` of the whole process group.

use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::process::{kill_group, terminate};
use super::state::new_state_dir;

/// How long the first `wrangler dev` may take to answer `/healthz` (it builds the Worker).
/// `E2E_READY_TIMEOUT_SECS` overrides it.
const READY_TIMEOUT: Duration = Duration::from_secs(240);
const POLL_EVERY: Duration = Duration::from_millis(250);
/// How long [`Server::d1_until`] waits for the outbox to copy rows to D1.
const D1_WAIT: Duration = Duration::from_secs(60);

/// A running `wrangler dev` with its own persisted state under `target/e2e-state/`.
pub struct Server {
    pub(super) port: u16,
    state_dir: PathBuf,
    log_path: PathBuf,
    vars: Vec<(String, String)>,
    /// wrangler leads its own process group (servers started on a given state dir), so
    /// [`Server::kill9`] can reach wrangler and workerd at once.
    own_group: bool,
    child: Mutex<Option<Child>>,
}

/// What a [`Server::kill9`] leaves: the state dir as the crash left it, and the vars to
/// start the same server on it again. Dropped without a restart, it removes the dir.
pub struct Killed {
    state_dir: Option<PathBuf>,
    vars: Vec<(String, String)>,
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
    /// The server runs on a fresh state dir, in the test run's process group (an
    /// interrupted run takes it down too).
    pub fn try_start(vars: &[(&str, &str)]) -> Result<Server, String> {
        Server::launch(new_state_dir("run")?, owned(vars), false)
    }

    /// Starts a server on a state dir that already exists (an unpacked fixture, or what a
    /// killed server left), after applying the D1 migrations it lacks. The server owns the
    /// dir from then on ([`Server::stop`] removes it). wrangler leads its own process group,
    /// so [`Server::kill9`] works on it; an interrupted test run does not reach it.
    pub fn try_start_on(state_dir: PathBuf, vars: &[(&str, &str)]) -> Result<Server, String> {
        if !state_dir.is_dir() {
            return Err(format!("no state dir at {}", state_dir.display()));
        }
        Server::launch(state_dir, owned(vars), true)
    }

    fn launch(
        state_dir: PathBuf,
        vars: Vec<(String, String)>,
        own_group: bool,
    ) -> Result<Server, String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let (port, inspector) = free_ports();
        let log_path = state_dir.with_extension("log");
        let spawn = Spawn {
            port,
            inspector,
            vars: &vars,
            own_group,
        };
        let child = apply_migrations(&root, &state_dir)
            .and_then(|()| spawn.run(&root, &state_dir, &log_path))
            .inspect_err(|_| {
                let _ = fs::remove_dir_all(&state_dir);
            })?;
        let server = Server {
            port,
            state_dir,
            log_path,
            vars,
            own_group,
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

    /// Ends wrangler and its children gracefully (SIGTERM) and removes the state dir. The
    /// log is removed too unless `keep_log` (its path is printed so a failure can be
    /// investigated).
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

    /// `kill -9` of wrangler's whole process group, wrangler and workerd together: nothing
    /// is flushed or closed. The state dir stays as the crash left it, for
    /// [`Killed::restart`]. Only for servers from [`Server::try_start_on`].
    pub fn kill9(self) -> Result<Killed, String> {
        if !self.own_group {
            return Err("kill9 needs a server of its own process group (try_start_on)".into());
        }
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        kill_group(child.ok_or("the server is not running")?)?;
        Ok(Killed {
            state_dir: Some(self.state_dir.clone()),
            vars: self.vars.clone(),
        })
    }

    /// This server's persisted state (`--persist-to`): D1 and the objects' SQLite files.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The wrangler log so far (every start on this state dir appends to the same file).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Runs SQL on this server's local D1 (the same SQLite file the Worker uses), e.g. to
    /// make D1 fail while the Worker keeps running.
    pub fn d1_execute(&self, sql: &str) -> Result<(), String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        // The Worker writes the same SQLite file: a busy database is retried, not a failure.
        let mut tries = 0;
        loop {
            let out = wrangler(&root)
                .args(["d1", "execute", "DB", "--local", "--persist-to"])
                .arg(&self.state_dir)
                .args(["--command", sql])
                .output()
                .map_err(|e| format!("cannot run wrangler: {e}"))?;
            if out.status.success() {
                return Ok(());
            }
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            tries += 1;
            if tries >= 40 || !(err.contains("SQLITE_BUSY") || err.contains("database is locked")) {
                return Err(format!("d1 execute {sql:?} failed: {err}"));
            }
            std::thread::sleep(Duration::from_millis(250));
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

impl Killed {
    /// Starts the same server (same vars, new ports) on the state dir the crash left.
    pub fn restart(mut self) -> Result<Server, String> {
        let dir = self.state_dir.take().ok_or("already restarted")?;
        let vars: Vec<(&str, &str)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Server::try_start_on(dir, &vars)
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(dir) = self.state_dir.take() {
            let _ = fs::remove_file(dir.with_extension("log"));
            let _ = fs::remove_dir_all(dir);
        }
    }
}

fn owned(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
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

/// How to run `wrangler dev`: ports, `[vars]` overrides, and whether it leads its own
/// process group.
struct Spawn<'a> {
    port: u16,
    inspector: u16,
    vars: &'a [(String, String)],
    own_group: bool,
}

impl Spawn<'_> {
    /// Spawns `wrangler dev` on `state_dir`, appending its output to `log_path`.
    fn run(&self, root: &Path, state_dir: &Path, log_path: &Path) -> Result<Child, String> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| format!("open {log_path:?}: {e}"))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = wrangler(root);
        cmd.args(["dev", "--ip", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--inspector-port",
                &self.inspector.to_string(),
                "--persist-to",
            ])
            .arg(state_dir)
            .args([
                "--log-level",
                "warn",
                "--show-interactive-dev-session=false",
            ])
            .stdout(log2)
            .stderr(log);
        for (key, value) in self.vars {
            cmd.arg("--var").arg(format!("{key}:{value}"));
        }
        if self.own_group {
            cmd.process_group(0);
        }
        cmd.spawn().map_err(|e| format!("spawn wrangler dev: {e}"))
    }
}

/// Two distinct free ports (both are held while the second is chosen).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("local addr").port();
    (port(&a), port(&b))
}
