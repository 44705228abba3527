//! The goals of issue 14 (item 8), each checked against a run: the measured value next to
//! the rule and met / not met. Ratios are service ÷ other target within a round, then the
//! median over rounds (as in the table). A third target (Django Channels) is any key of a
//! round other than `round`, `service` and `baseline` (`django` preferred); goals about it
//! say "not measured" when a run has none.

use serde_json::{json, Value};

use crate::report::{fmt, median};

/// Scenarios whose `lost` and `duplicates` count toward "zero lost or duplicated".
const DELIVERY_CHECKS: &[(&str, &str, &str)] = &[
    ("fanout", "/lost", "/duplicates"),
    ("publish", "/lost", "/duplicates"),
    ("storm", "/deliveries/lost", "/deliveries/duplicates"),
];

/// The rows of the markdown goals table and a `met` per goal, as JSON.
pub fn check(v: &Value) -> Value {
    let storm = v["plan"]["storm"].as_u64().unwrap_or(1000);
    let st = format!("storm_s{storm}");
    let mut goals = vec![
        at_most(
            v,
            &format!("connect-all at S = {storm}: time until every socket is connected"),
            "≤ 2 × baseline",
            (&st, "/connect/all_ms"),
            2.0,
        ),
        at_most(
            v,
            &format!("reconnect storm at S = {storm}: time until every socket is back (service: `resumed`)"),
            "≤ 2 × baseline",
            (&st, "/reconnect/all_ms"),
            2.0,
        ),
        at_least(v, "publish: requests/s", "≥ 0.8 × baseline", ("publish", "/requests_per_s"), 0.8),
        saturated_s500(v),
    ];
    goals.extend(django(v));
    goals.push(zero_lost(v));
    json!(goals)
}

fn goal(name: &str, rule: &str, measured: String, met: Option<bool>) -> Value {
    json!({ "goal": name, "rule": rule, "measured": measured, "met": met })
}

/// Per-round `service ÷ other` of the value at `ptr` in `scenario`, and their median.
fn ratio(v: &Value, other: &str, scenario: &str, ptr: &str) -> (Option<f64>, Vec<f64>) {
    let get = |r: &Value, who: &str| r[who][scenario].pointer(ptr).and_then(Value::as_f64);
    let ratios: Vec<f64> = rounds(v)
        .iter()
        .filter_map(|r| Some((get(r, "service")?, get(r, other)?)))
        .filter(|(_, b)| *b > 0.0)
        .map(|(a, b)| a / b)
        .collect();
    (median(ratios.clone()), ratios)
}

fn rounds(v: &Value) -> Vec<Value> {
    v["rounds"].as_array().cloned().unwrap_or_default()
}

fn shown(r: (Option<f64>, Vec<f64>), what: &str) -> String {
    let per: Vec<String> = r.1.iter().map(|x| format!("{x:.2}")).collect();
    match r.0 {
        Some(m) => format!("{what} {} × (rounds: {})", fmt(&json!(m)), per.join(" ")),
        None => format!("{what}: not measured"),
    }
}

fn at_most(v: &Value, name: &str, rule: &str, (sc, ptr): (&str, &str), max: f64) -> Value {
    let r = ratio(v, "baseline", sc, ptr);
    let met = r.0.map(|m| m <= max);
    goal(name, rule, shown(r, "time"), met)
}

fn at_least(v: &Value, name: &str, rule: &str, (sc, ptr): (&str, &str), min: f64) -> Value {
    let r = ratio(v, "baseline", sc, ptr);
    let met = r.0.map(|m| m >= min);
    goal(name, rule, shown(r, "rate"), met)
}

fn saturated_s500(v: &Value) -> Value {
    let d = ratio(v, "baseline", "fanout_s500", "/deliveries_per_s");
    let p = ratio(v, "baseline", "fanout_s500", "/latency/p99_ms");
    let met = match (d.0, p.0) {
        (Some(d), Some(p)) => Some(d >= 0.9 && p <= 1.5),
        _ => None,
    };
    let measured = format!("{}; {}", shown(d, "deliveries/s"), shown(p, "p99"));
    goal(
        &format!(
            "fan-out S = 500, saturated ({} msg/s)",
            fmt(&v["plan"]["rate"])
        ),
        "deliveries/s ≥ 0.9 × baseline and p99 ≤ 1.5 ×",
        measured,
        met,
    )
}

/// The third target's key in the rounds, if any (`django` preferred).
pub fn third_target(v: &Value) -> Option<String> {
    let mut keys: Vec<String> = rounds(v)
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().cloned().collect::<Vec<_>>())
        .filter(|k| !["round", "service", "baseline"].contains(&k.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    keys.iter()
        .find(|k| k.contains("django"))
        .or(keys.first())
        .cloned()
}

fn django(v: &Value) -> Vec<Value> {
    let Some(d) = third_target(v) else {
        return vec![
            goal(
                "fan-out S = 500 vs Django Channels",
                "deliveries/s ≥ 20 × Django's, p99 lower",
                "not measured (no Django target in this run)".into(),
                None,
            ),
            goal(
                "connect rate vs Django Channels",
                "connects/s ≥ Django's",
                "not measured (no Django target in this run)".into(),
                None,
            ),
        ];
    };
    let del = ratio(v, &d, "fanout_s500", "/deliveries_per_s");
    let p99 = ratio(v, &d, "fanout_s500", "/latency/p99_ms");
    let met = match (del.0, p99.0) {
        (Some(a), Some(b)) => Some(a >= 20.0 && b < 1.0),
        _ => None,
    };
    let fan = goal(
        &format!("fan-out S = 500 vs `{d}`"),
        "deliveries/s ≥ 20 × Django's, p99 lower",
        format!("{}; {}", shown(del, "deliveries/s"), shown(p99, "p99")),
        met,
    );
    let conn = ratio(v, &d, "connect", "/connects_per_s");
    let conn_met = conn.0.map(|m| m >= 1.0);
    let rate = goal(
        &format!("connect rate vs `{d}` (`connect`)"),
        "connects/s ≥ Django's",
        shown(conn, "connects/s"),
        conn_met,
    );
    vec![fan, rate]
}

/// Lost + duplicated durable deliveries of `who` over every round and checked scenario.
pub fn lost_and_dups(v: &Value, who: &str) -> (u64, u64) {
    let (mut lost, mut dups) = (0, 0);
    for r in rounds(v) {
        let Some(m) = r[who].as_object() else {
            continue;
        };
        for (name, s) in m {
            for (prefix, l, d) in DELIVERY_CHECKS {
                if name.starts_with(prefix) {
                    lost += s.pointer(l).and_then(Value::as_u64).unwrap_or(0);
                    dups += s.pointer(d).and_then(Value::as_u64).unwrap_or(0);
                }
            }
        }
    }
    (lost, dups)
}

fn zero_lost(v: &Value) -> Value {
    let mut parts = Vec::new();
    let mut targets = vec!["service".to_string(), "baseline".to_string()];
    targets.extend(third_target(v));
    for who in &targets {
        let (l, d) = lost_and_dups(v, who);
        parts.push(format!("{who} {l} lost / {d} duplicated"));
    }
    let (l, d) = lost_and_dups(v, "service");
    goal(
        "zero lost or duplicated deliveries (fan-out, publish, storm; all rounds)",
        "service: 0 and 0 (the baseline keeps nothing, so its storm loses what went out while its sockets were down)",
        parts.join("; "),
        (!rounds(v).is_empty()).then_some(l == 0 && d == 0),
    )
}

/// The goals as a markdown table.
pub fn markdown(goals: &Value) -> String {
    let mut s = String::from(
        "| goal | rule | measured (median of per-round ratios) | met |\n|---|---|---|---|\n",
    );
    for g in goals.as_array().into_iter().flatten() {
        let met = match g["met"].as_bool() {
            Some(true) => "**met**",
            Some(false) => "**not met**",
            None => "–",
        };
        s += &format!(
            "| {} | {} | {} | {met} |\n",
            g["goal"].as_str().unwrap_or(""),
            g["rule"].as_str().unwrap_or(""),
            g["measured"].as_str().unwrap_or("")
        );
    }
    s
}
