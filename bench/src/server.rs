//! One benchmark target served straight on workerd (`bench/serve.mjs`, Miniflare's API, no
//! wrangler dev proxy): fresh state dir, D1 migrations, CPU pinning with `taskset`,
//! readiness on `/healthz`, and a stop that ends its whole tree.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::http;

const READY_TIMEOUT: Duration = Duration::from_secs(180);
const STOP_GRACE: Duration = Duration::from_secs(10);
/// What `bench/serve.mjs` prints once the migrations are applied and the port is open.
const READY_LINE: &str = "ready on http://";

/// Polls `/healthz` on `port` until it answers 200 once `ready()` holds, failing early when
/// `child` (`what`, logging to `log`) exits and after `timeout`.
pub async fn wait_healthy(
    child: &mut Child,
    port: u16,
    (what, log): (&str, &Path),
    timeout: Duration,
    ready: impl Fn() -> bool,
) -> Result<(), String> {
    let addr = ([127, 0, 0, 1], port).into();
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited early ({status}); log {log:?}"));
        }
        if ready() && matches!(http(addr, "GET", "/healthz", "", None).await, Ok((200, _))) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "no 200 from {what}'s /healthz within {timeout:?}; log {log:?}"
    ))
}

/// How to start one target.
pub struct Spec<'a> {
    /// The wrangler config its bindings come from.
    pub config: &'a Path,
    /// The bundled entry module (Wasm modules beside it are loaded too).
    pub script: &'a Path,
    /// D1 migrations to apply first (the service; the baseline has no D1).
    pub migrations: Option<&'a Path>,
    pub dev_vars: Option<&'a Path>,
    pub vars: &'a [(&'a str, &'a str)],
    /// `taskset -c` CPU list for node and workerd (None: unpinned).
    pub cpus: Option<&'a str>,
    pub state_base: &'a Path,
}

/// A running target.
pub struct Server {
    pub port: u16,
    child: Child,
    state_dir: PathBuf,
    pub log_path: PathBuf,
}

impl Server {
    /// Starts `spec` and waits until it is migrated and `/healthz` answers 200.
    pub async fn start(root: &Path, spec: &Spec<'_>, tag: &str) -> Result<Server, String> {
        let port = free_port();
        let state_dir = spec.state_base.join(format!("{tag}-{port}"));
        let _ = fs::remove_dir_all(&state_dir);
        fs::create_dir_all(&state_dir).map_err(|e| format!("{state_dir:?}: {e}"))?;
        let log_path = spec.state_base.join(format!("{tag}-{port}.log"));
        let child = spawn(root, spec, &state_dir, &log_path, port)?;
        let mut server = Server {
            port,
            child,
            state_dir,
            log_path,
        };
        if let Err(e) = server.wait_ready().await {
            server.stop();
            return Err(e);
        }
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let log = self.log_path.clone();
        let migrated = || fs::read_to_string(&log).is_ok_and(|l| l.contains(READY_LINE));
        let what = "the target";
        wait_healthy(
            &mut self.child,
            self.port,
            (what, &self.log_path),
            READY_TIMEOUT,
            migrated,
        )
        .await
    }

    /// The workerd processes under the server (what serves the Worker).
    pub fn workerd_pids(&self) -> Vec<u32> {
        process_tree(self.child.id())
            .into_iter()
            .filter(|p| {
                fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "workerd")
            })
            .collect()
    }

    /// SIGTERM to the whole tree, SIGKILL after a grace period; removes the state dir.
    pub fn stop(&mut self) {
        let tree = process_tree(self.child.id());
        signal(&tree, "-TERM");
        let start = Instant::now();
        while start.elapsed() < STOP_GRACE {
            if matches!(self.child.try_wait(), Ok(Some(_))) && tree.iter().all(|p| !alive(*p)) {
                break;
            }
            sleep(Duration::from_millis(200));
        }
        let left: Vec<u32> = tree.into_iter().filter(|p| alive(*p)).collect();
        signal(&left, "-KILL");
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.state_dir);
    }
}

/// A running target as the scenarios see it: the processes whose memory is its cost
/// (workerd here; Daphne and redis-server for the Django target).
pub trait Served {
    fn server_pids(&self) -> Vec<u32>;
}

impl Served for Server {
    fn server_pids(&self) -> Vec<u32> {
        self.workerd_pids()
    }
}

fn spawn(
    root: &Path,
    spec: &Spec<'_>,
    state: &Path,
    log: &Path,
    port: u16,
) -> Result<Child, String> {
    let out = File::create(log).map_err(|e| format!("{log:?}: {e}"))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = match spec.cpus {
        Some(list) => {
            let mut c = Command::new("taskset");
            c.args(["-c", list, "node"]);
            c
        }
        None => Command::new("node"),
    };
    cmd.current_dir(root)
        .arg(root.join("bench/serve.mjs"))
        .arg("--config")
        .arg(spec.config)
        .arg("--script")
        .arg(spec.script)
        .args(["--port", &port.to_string(), "--state"])
        .arg(state)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(dir) = spec.migrations {
        cmd.arg("--migrations").arg(dir);
    }
    if let Some(path) = spec.dev_vars {
        cmd.arg("--dev-vars").arg(path);
    }
    for (k, v) in spec.vars {
        cmd.arg("--var").arg(format!("{k}:{v}"));
    }
    cmd.spawn()
        .map_err(|e| format!("spawn bench/serve.mjs: {e}"))
}

pub(crate) fn signal(pids: &[u32], sig: &str) {
    if !pids.is_empty() {
        let _ = Command::new("kill")
            .arg(sig)
            .args(pids.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
    }
}

pub(crate) fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| stat_field(&s, 0) != Some("Z"))
}

/// `root` and its descendants, from /proc.
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

pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}
