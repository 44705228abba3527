//! The Django Channels target (`bench/django/`): the incumbent the service replaces, as a
//! third target of `all`. Per start: a fresh redis-server (no persistence, so empty), a fresh
//! SQLite file migrated with `manage.py migrate`, then one Daphne process, both pinned to the
//! server CPUs; ready when `/healthz` answers 200. Its cost is Daphne's plus redis's.
//! `serve-django` starts one by hand for single scenarios (`--port`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{dev_vars, Target};
use crate::run::{self, Paths, Plan};
use crate::server::{alive, free_port, signal, wait_healthy, Served};

const READY_TIMEOUT: Duration = Duration::from_secs(90);
const STOP_GRACE: Duration = Duration::from_secs(10);
/// channels_redis 4's defaults (core.py), reported when no capacity is set.
const DEFAULT_CAPACITY: u32 = 100;
const DEFAULT_EXPIRY_S: u32 = 60;

/// Where the Django target's pieces are (from `--django-python`, `--redis-server`).
#[derive(Clone, Debug)]
pub struct Setup {
    /// The venv's python (bench/django/setup.sh).
    pub python: PathBuf,
    pub redis: PathBuf,
    /// The Django project (`bench/django/` under the root).
    pub dir: PathBuf,
    /// channels_redis `capacity` (`--django-capacity`; None: the library default).
    pub capacity: Option<u32>,
}

impl Setup {
    /// The setup named by the options, or None when `--django-python` is not given.
    pub fn from_opts(opts: &HashMap<String, String>, root: &Path) -> Result<Option<Setup>, String> {
        let Some(python) = opts.get("django-python") else {
            return Ok(None);
        };
        let capacity = match opts.get("django-capacity") {
            Some(c) => Some(c.parse().map_err(|_| format!("--django-capacity: {c}"))?),
            None => None,
        };
        Ok(Some(Setup {
            python: python.into(),
            redis: opts
                .get("redis-server")
                .map_or_else(|| "redis-server".into(), PathBuf::from),
            dir: root.join("bench/django"),
            capacity,
        }))
    }

    /// Versions and channel-layer settings, for the results' `plan`.
    pub fn describe(&self) -> Value {
        let code = "import django, channels, channels_redis, daphne, redis, sys; \
                    print(django.__version__, channels.__version__, channels_redis.__version__, \
                    daphne.__version__, redis.__version__, sys.version.split()[0])";
        let py = output(Command::new(&self.python).args(["-c", code]));
        let v: Vec<&str> = py.split_whitespace().collect();
        let at = |i: usize| v.get(i).map(|s| s.to_string());
        let redis = output(Command::new(&self.redis).arg("--version"));
        json!({
            "django": at(0), "channels": at(1), "channels_redis": at(2), "daphne": at(3),
            "redis_py": at(4), "python": at(5),
            "redis_server": redis.split_whitespace().find_map(|w| w.strip_prefix("v=")),
            "channel_layer": "channels_redis.core.RedisChannelLayer",
            "capacity": self.capacity.unwrap_or(DEFAULT_CAPACITY),
            "capacity_is_default": self.capacity.is_none(),
            "expiry_s": DEFAULT_EXPIRY_S,
            "daphne_processes": 1,
        })
    }
}

fn output(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// A running Django target: Daphne on `port`, its redis-server beside it.
pub struct Django {
    pub port: u16,
    daphne: Child,
    redis: Child,
    state_dir: PathBuf,
    pub log_path: PathBuf,
}

impl Served for Django {
    fn server_pids(&self) -> Vec<u32> {
        vec![self.daphne.id(), self.redis.id()]
    }
}

/// `taskset -c cpus prog` (taskset execs, so the child's pid is the program's), or `prog`.
fn pinned(prog: &Path, cpus: Option<&str>) -> Command {
    match cpus {
        Some(list) => {
            let mut c = Command::new("taskset");
            c.args(["-c", list]).arg(prog);
            c
        }
        None => Command::new(prog),
    }
}

/// The target's log as stdout and stderr: a new file, or (`append`, for Daphne after
/// `migrate`) the same one continued.
fn log_file(path: &Path, append: bool) -> Result<(Stdio, Stdio), String> {
    let out = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| format!("{path:?}: {e}"))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    Ok((out.into(), err.into()))
}

impl Django {
    /// Starts redis, migrates a fresh database, starts Daphne and waits for `/healthz`.
    pub async fn start(
        root: &Path,
        s: &Setup,
        cpus: Option<&str>,
        state_base: &Path,
    ) -> Result<Django, String> {
        let (port, redis_port) = (free_port(), free_port());
        let state_dir = state_base.join(format!("django-{port}"));
        let _ = fs::remove_dir_all(&state_dir);
        fs::create_dir_all(&state_dir).map_err(|e| format!("{state_dir:?}: {e}"))?;
        let mut redis = start_redis(s, cpus, &state_dir, redis_port, state_base)?;
        let log_path = state_base.join(format!("django-{port}.log"));
        let mut env = dev_vars(root);
        env.retain(|k, _| k == "JWT_SECRET" || k == "API_KEY");
        env.insert("BENCH_DB".into(), path_str(&state_dir.join("db.sqlite3")));
        env.insert("BENCH_REDIS_PORT".into(), redis_port.to_string());
        if let Some(c) = s.capacity {
            env.insert("BENCH_CHANNEL_CAPACITY".into(), c.to_string());
        }
        let daphne = match launch(s, cpus, &env, port, redis_port, &log_path).await {
            Ok(d) => d,
            Err(e) => {
                end(&mut redis);
                let _ = fs::remove_dir_all(&state_dir);
                return Err(e);
            }
        };
        let mut dj = Django {
            port,
            daphne,
            redis,
            state_dir,
            log_path,
        };
        if let Err(e) = dj.wait_ready().await {
            dj.stop();
            return Err(e);
        }
        Ok(dj)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let what = ("daphne", self.log_path.as_path());
        wait_healthy(&mut self.daphne, self.port, what, READY_TIMEOUT, || true).await
    }

    /// Ends Daphne, then redis; removes the state dir.
    pub fn stop(&mut self) {
        end(&mut self.daphne);
        end(&mut self.redis);
        let _ = fs::remove_dir_all(&self.state_dir);
    }
}

/// SIGTERM, SIGKILL after a grace period, and the exit status collected.
fn end(child: &mut Child) {
    let pid = child.id();
    signal(&[pid], "-TERM");
    let start = Instant::now();
    while start.elapsed() < STOP_GRACE && !matches!(child.try_wait(), Ok(Some(_))) {
        std::thread::sleep(Duration::from_millis(100));
    }
    if alive(pid) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// Waits for redis, migrates the fresh SQLite file, and spawns Daphne (one process).
async fn launch(
    s: &Setup,
    cpus: Option<&str>,
    env: &HashMap<String, String>,
    port: u16,
    redis_port: u16,
    log_path: &Path,
) -> Result<Child, String> {
    wait_redis(redis_port).await?;
    let (out, err) = log_file(log_path, false)?;
    let migrate = pinned(&s.python, cpus)
        .args(["manage.py", "migrate", "--noinput"])
        .current_dir(&s.dir)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("manage.py migrate: {e}"))?;
    if !migrate.success() {
        return Err(format!("manage.py migrate failed; log {log_path:?}"));
    }
    let (log, err) = log_file(log_path, true)?;
    pinned(&s.python, cpus)
        // -v 0: no access log (a line per request and per socket), warnings only.
        .args([
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-v",
            "0",
        ])
        .arg("chatbench.asgi:application")
        .current_dir(&s.dir)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("spawn daphne: {e}"))
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A redis-server with nothing to load and nothing saved: every start is empty.
fn start_redis(
    s: &Setup,
    cpus: Option<&str>,
    dir: &Path,
    port: u16,
    state_base: &Path,
) -> Result<Child, String> {
    let (out, err) = log_file(&state_base.join(format!("django-redis-{port}.log")), false)?;
    pinned(&s.redis, cpus)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("spawn {:?}: {e}", s.redis))
}

/// Waits until redis answers PING.
async fn wait_redis(port: u16) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < READY_TIMEOUT {
        if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)).await {
            let mut buf = [0u8; 16];
            if c.write_all(b"PING\r\n").await.is_ok()
                && matches!(c.read(&mut buf).await, Ok(n) if buf[..n].starts_with(b"+PONG"))
            {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("redis on port {port} did not answer PING"))
}

/// One round of `all` against Django: start, every scenario, stop.
pub async fn target(paths: &Paths, plan: &Plan) -> Value {
    let Some(setup) = &paths.django else {
        return json!({ "error": "no --django-python given" });
    };
    let cpus = plan.server_cpus.as_deref();
    let mut dj = match Django::start(&paths.root, setup, cpus, &paths.state).await {
        Ok(d) => d,
        Err(e) => return json!({ "error": e }),
    };
    let t = Target::local(&paths.root, dj.port);
    let out = run::scenarios(&t, &dj, plan).await;
    dj.stop();
    out
}

/// `serve-django`: starts the target, prints its port, keeps it up for `--secs` (default
/// 600), then stops it. Ending its process group early (`setsid`, `kill -- -PGID`) ends
/// Daphne and redis too.
pub async fn serve_cmd(opts: &HashMap<String, String>) -> Result<(), String> {
    let root = PathBuf::from(opts.get("root").map_or(".", String::as_str));
    let setup = Setup::from_opts(opts, &root)?.ok_or("--django-python is required")?;
    let state = opts.get("state").map_or_else(
        || root.join("bench/target/state"),
        |s| PathBuf::from(s.as_str()),
    );
    let cpus = opts.get("server-cpus").map(String::as_str);
    let mut dj = Django::start(&root, &setup, cpus, &state).await?;
    eprintln!(
        "django on http://127.0.0.1:{} (daphne, redis pids {:?}; log {:?})",
        dj.port,
        dj.server_pids(),
        dj.log_path
    );
    let secs = opts.get("secs").and_then(|s| s.parse().ok()).unwrap_or(600);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    dj.stop();
    Ok(())
}

/// The Django bullet of BENCHMARKS.md's generated block (empty when it did not run).
pub fn report_lines(v: &Value) -> String {
    if !crate::report::has_django(v) {
        return String::new();
    }
    let d = &v["plan"]["django"];
    let s = |k: &str| d[k].as_str().unwrap_or("?").to_string();
    let sum = &v["summary"];
    let capacity = match d["capacity_is_default"].as_bool() {
        Some(true) => format!("capacity {} (the default)", d["capacity"]),
        _ => format!("capacity {}", d["capacity"]),
    };
    format!(
        "* Django target (`bench/django/`, see [below](#the-django-channels-target)): Django {}, \
         Channels {}, Daphne {} (one process), channels_redis {} (`RedisChannelLayer`, {capacity}, \
         expiry {} s), redis-py {}, redis-server {}, Python {}; Daphne and redis-server share CPU {}. \
         Duplicate deliveries (fan-out + publish, all rounds): service **{}**, baseline **{}**, \
         Django **{}**. Django's idle memory is Daphne's + redis-server's RSS.\n",
        s("django"),
        s("channels"),
        s("daphne"),
        s("channels_redis"),
        d["expiry_s"],
        s("redis_py"),
        s("redis_server"),
        s("python"),
        v["plan"]["server_cpus"].as_str().unwrap_or("unpinned"),
        sum["duplicates_total"]["service"],
        sum["duplicates_total"]["baseline"],
        sum["duplicates_total"]["django"],
    )
}
