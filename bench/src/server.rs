//! One `wrangler dev` under test: fresh `--persist-to` dir, optional D1 migrations, CPU
//! pinning with `taskset`, readiness on `/healthz`, and a stop that ends its whole tree.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::http;

const READY_TIMEOUT: Duration = Duration::from_secs(180);
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How to start one target.
pub struct Spec<'a> {
    pub config: &'a Path,
    pub migrate_d1: bool,
    pub vars: &'a [(&'a str, &'a str)],
    /// `taskset -c` CPU list for wrangler and workerd (None: unpinned).
    pub cpus: Option<&'a str>,
    pub state_base: &'a Path,
}

/// A running `wrangler dev`.
pub struct Server {
    pub port: u16,
    child: Child,
    state_dir: PathBuf,
    pub log_path: PathBuf,
}

impl Server {
    /// Starts wrangler dev for `spec` and waits until `/healthz` answers 200.
    pub async fn start(root: &Path, spec: &Spec<'_>, tag: &str) -> Result<Server, String> {
        let (port, inspector) = free_ports();
        let state_dir = spec.state_base.join(format!("{tag}-{port}"));
        let _ = fs::remove_dir_all(&state_dir);
        fs::create_dir_all(&state_dir).map_err(|e| format!("{state_dir:?}: {e}"))?;
        if spec.migrate_d1 {
            migrate(root, spec.config, &state_dir)?;
        }
        let log_path = spec.state_base.join(format!("{tag}-{port}.log"));
        let child = spawn(root, spec, &state_dir, &log_path, port, inspector)?;
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
        let addr = ([127, 0, 0, 1], self.port).into();
        let start = Instant::now();
        while start.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "wrangler exited early ({status}); log {:?}",
                    self.log_path
                ));
            }
            if matches!(http(addr, "GET", "/healthz", "", None).await, Ok((200, _))) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(format!(
            "no 200 from /healthz within {READY_TIMEOUT:?}; log {:?}",
            self.log_path
        ))
    }

    /// The workerd processes under this wrangler (what serves the Worker).
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

fn wrangler(root: &Path, cpus: Option<&str>) -> Command {
    let bin = root.join("node_modules/.bin/wrangler");
    let mut cmd = match cpus {
        Some(list) => {
            let mut c = Command::new("taskset");
            c.args(["-c", list]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.current_dir(root).env("CI", "true").stdin(Stdio::null());
    cmd
}

fn migrate(root: &Path, config: &Path, state_dir: &Path) -> Result<(), String> {
    let out = wrangler(root, None)
        .args(["d1", "migrations", "apply", "DB", "--local", "-c"])
        .arg(config)
        .arg("--persist-to")
        .arg(state_dir)
        .output()
        .map_err(|e| format!("run wrangler: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "d1 migrations apply failed: {}",
        String::from_utf8_lossy(&out.stderr)
    ))
}

fn spawn(
    root: &Path,
    spec: &Spec<'_>,
    state: &Path,
    log: &Path,
    port: u16,
    inspector: u16,
) -> Result<Child, String> {
    let out = File::create(log).map_err(|e| format!("{log:?}: {e}"))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = wrangler(root, spec.cpus);
    cmd.args(["dev", "-c"])
        .arg(spec.config)
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &inspector.to_string(), "--persist-to"])
        .arg(state)
        .args([
            "--log-level",
            "warn",
            "--show-interactive-dev-session=false",
        ])
        .stdout(out)
        .stderr(err);
    for (k, v) in spec.vars {
        cmd.arg("--var").arg(format!("{k}:{v}"));
    }
    cmd.spawn().map_err(|e| format!("spawn wrangler dev: {e}"))
}

fn signal(pids: &[u32], sig: &str) {
    if !pids.is_empty() {
        let _ = Command::new("kill")
            .arg(sig)
            .args(pids.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
    }
}

fn alive(pid: u32) -> bool {
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

fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("local addr").port();
    (port(&a), port(&b))
}
