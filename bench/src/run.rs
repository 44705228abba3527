//! `all`: the full comparison. For each round, the service, the baseline and (when set up)
//! the Django Channels target are started on fresh state (pinned to their own core), every
//! scenario runs against each with a hard time bound, and the raw results are kept per round.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::common::Target;
use crate::server::{Served, Server, Spec};
use crate::{conn, fanout, idle, publish, storm};

/// What `all` runs.
pub struct Plan {
    pub rounds: usize,
    pub subs: Vec<usize>,
    pub fanout: fanout::Opts,
    /// Rate of the extra S = 500 run below saturation (`fanout_s500_light`; 0 = skip), where
    /// latencies are the system's own rather than a queue's.
    pub light_rate: f64,
    pub publish: publish::Opts,
    pub connect_n: usize,
    /// Run first, on the fresh process (`idle.rs`).
    pub idle: idle::Opts,
    /// Connect-all and the reconnect storm, run last (`storm.rs`).
    pub storms: storm::Plan,
    pub bound: Duration,
    pub server_cpus: Option<String>,
}

/// What each target runs (its wrangler config and bundled entry module), and where state goes.
pub struct Paths {
    pub root: PathBuf,
    pub service: PathBuf,
    pub service_script: PathBuf,
    pub baseline: PathBuf,
    pub baseline_script: PathBuf,
    pub state: PathBuf,
    /// The Django Channels target (bench/django/), when `--django-python` is given.
    pub django: Option<crate::django::Setup>,
}

/// Room size of the below-saturation fan-out run (the size the target is stated at).
pub const LIGHT_SUBS: usize = 500;

/// The publisher's rate limit is lifted so that it can send at the offered rate.
pub const SERVICE_VARS: &[(&str, &str)] = &[("RATE_PER_SEC", "100000"), ("RATE_BURST", "100000")];

/// Runs every round, A (service), B (baseline), C (Django, if set up), and returns `{rounds: [...]}`;
/// `checkpoint` gets the rounds so far after each target (so a bound hit keeps them).
pub async fn all(paths: &Paths, plan: &Plan, checkpoint: impl Fn(&Value)) -> Value {
    let mut rounds = Vec::new();
    for round in 1..=plan.rounds {
        let mut entry = Map::new();
        entry.insert("round".into(), json!(round));
        let third = paths.django.as_ref().map(|_| "django");
        for name in ["service", "baseline"].into_iter().chain(third) {
            eprintln!("== round {round}/{}: {name}", plan.rounds);
            let result = target(paths, plan, name).await;
            entry.insert(name.into(), result);
            let mut so_far = rounds.clone();
            so_far.push(Value::Object(entry.clone()));
            checkpoint(&json!({ "rounds": so_far, "partial": true }));
        }
        rounds.push(Value::Object(entry));
    }
    json!({ "rounds": rounds })
}

async fn target(paths: &Paths, plan: &Plan, name: &str) -> Value {
    if name == "django" {
        return crate::django::target(paths, plan).await;
    }
    let is_service = name == "service";
    let (config, script) = if is_service {
        (&paths.service, &paths.service_script)
    } else {
        (&paths.baseline, &paths.baseline_script)
    };
    let dev_vars = paths.root.join(".dev.vars");
    let migrations = paths.root.join("migrations");
    let spec = Spec {
        config,
        script,
        migrations: is_service.then_some(migrations.as_path()),
        dev_vars: (is_service && dev_vars.exists()).then_some(dev_vars.as_path()),
        vars: if is_service { SERVICE_VARS } else { &[] },
        cpus: plan.server_cpus.as_deref(),
        state_base: &paths.state,
    };
    let mut server = match Server::start(&paths.root, &spec, name).await {
        Ok(s) => s,
        Err(e) => return json!({ "error": e }),
    };
    let t = Target::local(&paths.root, server.port);
    let out = scenarios(&t, &server, plan).await;
    server.stop();
    out
}

/// Every scenario of the plan against one running target.
pub async fn scenarios(t: &Target, server: &impl Served, plan: &Plan) -> Value {
    let mut out = Map::new();
    // Memory per idle socket is measured on the fresh process, before anything else ran.
    let pids = server.server_pids();
    let idle = idle::idle(t, &plan.idle, &pids);
    out.insert("idle".into(), bounded(plan, "idle", idle).await);
    settle().await;
    for &subs in &plan.subs {
        let o = fanout::Opts {
            subs,
            ..plan.fanout.clone()
        };
        out.insert(
            format!("fanout_s{subs}"),
            bounded(plan, "fanout", fanout::run(t, &o)).await,
        );
        settle().await;
    }
    if plan.light_rate > 0.0 {
        let o = fanout::Opts {
            subs: LIGHT_SUBS,
            rate: plan.light_rate,
            ..plan.fanout.clone()
        };
        let light = bounded(plan, "fanout (light)", fanout::run(t, &o)).await;
        out.insert(format!("fanout_s{LIGHT_SUBS}_light"), light);
        settle().await;
    }
    out.insert(
        "publish".into(),
        bounded(plan, "publish", publish::run(t, &plan.publish)).await,
    );
    settle().await;
    let conn = conn::connect(t, plan.connect_n, plan.fanout.parallel);
    out.insert("connect".into(), bounded(plan, "connect", conn).await);
    settle().await;
    storm::scenarios(t, &plan.storms, plan.bound, &mut out).await;
    Value::Object(out)
}

/// Lets closed sockets and presence updates of the previous scenario settle.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Runs one scenario under the hard bound; an error or timeout becomes `{"error": ...}`.
pub async fn bounded<F>(plan: &Plan, name: &str, f: F) -> Value
where
    F: Future<Output = Result<Value, String>>,
{
    bounded_for(plan.bound, name, f).await
}

/// [`bounded`] with an explicit bound.
pub async fn bounded_for<F>(bound: Duration, name: &str, f: F) -> Value
where
    F: Future<Output = Result<Value, String>>,
{
    eprintln!("   {name} ...");
    match tokio::time::timeout(bound, f).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => json!({ "error": e }),
        Err(_) => json!({ "error": format!("hit the {bound:?} time bound") }),
    }
}
