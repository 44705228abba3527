//! Load generator for the edge-realtime Worker, its JavaScript baseline and the Django
//! Channels incumbent.
//!
//! ```text
//! edge-realtime-bench all --root R --service-config C --service-script S --baseline-config C
//!     --baseline-script S --state D --out F.json [--md BENCHMARKS.md]
//!     [--django-python P --redis-server R [--django-capacity N]]   (the Django Channels target)
//! edge-realtime-bench serve-django --django-python P --redis-server R [--root R] [--secs 600]
//! edge-realtime-bench fanout|publish|connect|idle|connect-all|storm --port P [--root R] [options]
//!     (fanout: [--mode room|session] [--pids P1,P2] for the server's CPU time; idle: --pids
//!     for memory; connect-all/storm: --n S, storm: [--resume auto|true|false]
//!     [--presence-batch true|false])
//! edge-realtime-bench sessions (--service-config C --service-script S --state D | --port P
//!     [--pids P1,P2]) [--root R] [--rounds 2] [--n 100] [--messages 200] [--rates 20,100]
//! edge-realtime-bench report --in F.json --md BENCHMARKS.md
//! ```
//! One process and one clock for publisher and subscribers; loopback only; every scenario
//! has a hard time bound. Results are JSON on stdout (or `--out`).

mod common;
mod conn;
mod cpu;
mod crowd;
mod django;
mod fanout;
mod goals;
mod idle;
mod publish;
mod report;
mod run;
mod server;
mod sessions;
mod stats;
mod storm;
mod ws;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use common::Target;
use run::{Paths, Plan};

/// `--key value` options after the subcommand.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(raw: &[String]) -> Result<Args, String> {
        let mut map = HashMap::new();
        let mut it = raw.iter();
        while let Some(k) = it.next() {
            let key = k
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --option, got {k}"))?;
            let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
            map.insert(key.to_string(), v.clone());
        }
        Ok(Args(map))
    }
    fn str(&self, k: &str, default: &str) -> String {
        self.0
            .get(k)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }
    fn num<T: std::str::FromStr>(&self, k: &str, default: T) -> Result<T, String> {
        self.0.get(k).map_or(Ok(default), |v| {
            v.parse().map_err(|_| format!("--{k}: bad number {v}"))
        })
    }
    fn path(&self, k: &str) -> Result<PathBuf, String> {
        self.0
            .get(k)
            .map(PathBuf::from)
            .ok_or_else(|| format!("--{k} is required"))
    }
}

/// A comma-separated list of sizes (`none` or empty: no entries).
fn sizes(a: &Args, key: &str, default: &str) -> Result<Vec<usize>, String> {
    a.str(key, default)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "none")
        .map(|s| s.parse().map_err(|_| format!("--{key}: {s}")))
        .collect()
}

/// `--connect-all`, `--storm`, `--storm-parallel`, `--storm-messages` (each of before / while
/// down / after; twice that many go out during the reconnect), `--drain-secs`.
fn storm_plan(a: &Args) -> Result<storm::Plan, String> {
    let m = a.num("storm-messages", 5)?;
    Ok(storm::Plan {
        connect_all: sizes(a, "connect-all", "100,500,1000")?,
        storm_subs: a.num("storm", 1000)?,
        opts: storm::Opts {
            subs: 0,
            parallel: a.num("storm-parallel", 0)?,
            before: m,
            gap: m,
            during: 2 * m,
            during_gap: Duration::from_millis(100),
            after: m,
            resume: match a.str("resume", "auto").as_str() {
                "auto" => None,
                r => Some(r == "true"),
            },
            presence_batch: a.str("presence-batch", "true") == "true",
            drain: Duration::from_secs(a.num("drain-secs", 30)?),
        },
    })
}

fn plan(a: &Args) -> Result<Plan, String> {
    let subs = sizes(a, "subs", "10,100,500,1000")?;
    let cpus = a.str("server-cpus", "1");
    Ok(Plan {
        rounds: a.num("rounds", 3)?,
        subs,
        fanout: fanout::Opts {
            subs: 0,
            messages: a.num("messages", 200)?,
            rate: a.num("rate", 100.0)?,
            parallel: a.num("parallel", 32)?,
            drain: Duration::from_secs(a.num("drain-secs", 30)?),
            mode: fanout::Mode::parse(&a.str("mode", "room"))?,
            pids: pids(a),
        },
        publish: publish::Opts {
            concurrency: a.num("publish-c", 8)?,
            per_task: a.num("publish-n", 50)?,
            drain: Duration::from_secs(a.num("drain-secs", 30)?),
        },
        light_rate: a.num("light-rate", 20.0)?,
        connect_n: a.num("connect", 200)?,
        idle: idle::Opts {
            n: a.num("idle", 200)?,
            parallel: a.num("parallel", 32)?,
            idle_for: Duration::from_secs(a.num("idle-secs", 15)?),
            samples: a.num("idle-samples", 12)?,
        },
        storms: storm_plan(a)?,
        bound: Duration::from_secs(a.num("bound-secs", 180)?),
        server_cpus: (cpus != "none").then_some(cpus),
    })
}

fn pids(a: &Args) -> Vec<u32> {
    a.str("pids", "")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

async fn sessions_cmd(a: &Args) -> Result<Value, String> {
    let p = plan(a)?;
    let root = PathBuf::from(a.str("root", "."));
    let rates: Vec<f64> = a
        .str("rates", "20,100")
        .split(',')
        .map(|s| s.trim().parse().map_err(|_| format!("--rates: {s}")))
        .collect::<Result<_, _>>()?;
    let src = match a.0.get("service-config") {
        Some(_) => sessions::Source::Start {
            root: root.clone(),
            config: a.path("service-config")?,
            script: a.path("service-script")?,
            state: a.path("state")?,
            cpus: p.server_cpus.clone(),
        },
        None => sessions::Source::Running {
            root: root.clone(),
            port: a.num("port", 8787)?,
            pids: pids(a),
        },
    };
    let sp = sessions::Plan {
        rounds: a.num("rounds", 2)?,
        rates: rates.clone(),
        fanout: fanout::Opts {
            subs: a.num("n", 100)?,
            ..p.fanout.clone()
        },
        bound: p.bound,
    };
    let head = json!({
        "scenario": "sessions",
        "started_unix_ms": common::run_id(),
        "machine": report::machine(),
        "wasm": report::wasm(&root.join("build/index_bg.wasm")),
        "plan": {
            "rounds": sp.rounds, "subs": sp.fanout.subs, "messages": sp.fanout.messages,
            "rates": rates, "drain_s": sp.fanout.drain.as_secs(), "bound_s": sp.bound.as_secs(),
            "server_cpus": match &src { sessions::Source::Start { cpus, .. } => json!(cpus), _ => json!("external") },
        },
    });
    let with = |r: &Value| {
        let mut v = head.clone();
        v["rounds"] = r["rounds"].clone();
        v["summary"] = sessions::summary(&v, &rates);
        v
    };
    let out = sessions::run(&src, &sp, |r| {
        if let Some(path) = a.0.get("out") {
            let mut v = with(r);
            v["partial"] = json!(true);
            let _ = std::fs::write(path, v.to_string());
        }
    })
    .await;
    Ok(with(&out))
}

async fn single(cmd: &str, a: &Args) -> Result<Value, String> {
    let p = plan(a)?;
    let root = PathBuf::from(a.str("root", "."));
    let t = Target::local(&root, a.num("port", 8787)?);
    let fut = async {
        match cmd {
            "fanout" => {
                fanout::run(
                    &t,
                    &fanout::Opts {
                        subs: a.num("n", 100)?,
                        ..p.fanout.clone()
                    },
                )
                .await
            }
            "publish" => publish::run(&t, &p.publish).await,
            "connect" => conn::connect(&t, p.connect_n, p.fanout.parallel).await,
            "idle" => idle::idle(&t, &p.idle, &pids(a)).await,
            "connect-all" | "storm" => {
                let o = storm::Opts {
                    subs: a.num("n", 1000)?,
                    ..p.storms.opts.clone()
                };
                match cmd {
                    "storm" => storm::storm(&t, &o).await,
                    _ => storm::connect_all(&t, &o).await,
                }
            }
            _ => Err(format!("unknown subcommand {cmd}")),
        }
    };
    Ok(run::bounded(&p, cmd, fut).await)
}

async fn all(a: &Args) -> Result<Value, String> {
    let p = plan(a)?;
    let paths = Paths {
        root: a.path("root")?,
        service: a.path("service-config")?,
        service_script: a.path("service-script")?,
        baseline: a.path("baseline-config")?,
        baseline_script: a.path("baseline-script")?,
        state: a.path("state")?,
        django: django::Setup::from_opts(&a.0, &a.path("root")?)?,
    };
    let head = json!({
        "started_unix_ms": common::run_id(),
        "machine": report::machine(),
        "wasm": report::wasm(&paths.root.join("build/index_bg.wasm")),
        "plan": {
            "rounds": p.rounds, "subs": p.subs, "messages": p.fanout.messages, "rate": p.fanout.rate,
            "light_rate": p.light_rate,
            "publish_concurrency": p.publish.concurrency, "publish_per_task": p.publish.per_task,
            "connect": p.connect_n, "idle": p.idle.n, "idle_s": p.idle.idle_for.as_secs(),
            "idle_samples": p.idle.samples, "connect_all": p.storms.connect_all,
            "storm": p.storms.storm_subs, "storm_parallel": p.storms.opts.parallel,
            "storm_messages": [p.storms.opts.before, p.storms.opts.gap, p.storms.opts.during, p.storms.opts.after],
            "bound_s": p.bound.as_secs(), "server_cpus": p.server_cpus,
            "django": paths.django.as_ref().map(django::Setup::describe),
        },
    });
    let with_rounds = |rounds: &Value, partial: bool| {
        let mut v = head.clone();
        v["rounds"] = rounds["rounds"].clone();
        v["partial"] = json!(partial);
        v["summary"] = report::summary(&v);
        v
    };
    // A checkpoint after every target, so that an overall bound hit still leaves results.
    let out = run::all(&paths, &p, |r| {
        if let Some(path) = a.0.get("out") {
            let _ = std::fs::write(path, with_rounds(r, true).to_string());
        }
    })
    .await;
    Ok(with_rounds(&out, false))
}

fn write_outputs(a: &Args, v: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    match a.0.get("out") {
        Some(path) => std::fs::write(path, text + "\n").map_err(|e| format!("{path}: {e}"))?,
        None if a.0.contains_key("md") => {}
        None => println!("{text}"),
    }
    if let Some(md) = a.0.get("md") {
        if v["scenario"] == "sessions" {
            sessions::write_markdown(std::path::Path::new(md), v)?;
        } else {
            report::write_markdown(std::path::Path::new(md), v)?;
        }
    }
    Ok(())
}

async fn main_inner(argv: &[String]) -> Result<(), String> {
    let cmd = argv.first().map(String::as_str).unwrap_or("help");
    let args = Args::parse(argv.get(1..).unwrap_or(&[]))?;
    let v = match cmd {
        "all" => all(&args).await?,
        "sessions" => sessions_cmd(&args).await?,
        "report" => {
            let path = args.path("in")?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path:?}: {e}"))?;
            let mut v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            // Recomputed, so that rows and goals added since the run apply to it too.
            if v["scenario"] != "sessions" {
                v["summary"] = report::summary(&v);
            }
            v
        }
        "fanout" | "publish" | "connect" | "idle" | "connect-all" | "storm" => {
            single(cmd, &args).await?
        }
        "serve-django" => return django::serve_cmd(&args.0).await,
        _ => return Err(
            "usage: edge-realtime-bench all|sessions|fanout|publish|connect|idle|connect-all|storm|serve-django|report [--option value]..."
                .into(),
        ),
    };
    let args = if cmd == "report" {
        Args(args.0.into_iter().filter(|(k, _)| k != "out").collect())
    } else {
        args
    };
    write_outputs(&args, &v)
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(main_inner(&argv)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
