//! Webhooks (SPEC §10) against a backend played by the harness ([`Receiver`], a real HTTP
//! server on loopback), on a server of their own that sends to it: every event type arrives
//! signed as the Standard Webhooks specification says (checked from the specification, not
//! with the Worker's code); a page reload within the grace sends no offline/online pair; a
//! 500 is retried with the same `webhook-id`, in order; an event the backend refuses for the
//! whole (test-shortened) window is listed as failed and the retry endpoint delivers it; and
//! chat frames keep flowing while the backend holds a request open. Signatures are also
//! checked with the reference `standardwebhooks` Python package when `python/.venv` has it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::receiver::{
    hooked, verify, verify_with_reference, Delivery, Receiver, Step, GRACE_MS, MAX_AGE_MS, SECRET,
};
use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{join, room_with, say};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("webhooks::every_event_arrives_signed", every_event),
        trial("webhooks::reload_within_grace_sends_nothing", reload),
        trial("webhooks::retried_with_the_same_id_in_order", retried),
        trial("webhooks::given_up_is_listed_and_retried", given_up),
        trial("webhooks::chat_flows_while_the_backend_hangs", hanging),
    ]
}

const WAIT: Duration = Duration::from_secs(20);

fn of_kind<'a>(seen: &'a [Delivery], kind: &str) -> Vec<&'a Delivery> {
    seen.iter().filter(|d| d.kind() == kind).collect()
}

fn has(seen: &[Delivery], kind: &str) -> bool {
    !of_kind(seen, kind).is_empty()
}

/// Every delivery is signed, carries the three headers and the `{type, timestamp, data}` body.
fn check_all(seen: &[Delivery]) -> TestResult {
    for d in seen {
        verify(SECRET, d)?;
        assert!(d.id.starts_with("msg_"), "webhook-id {:?}", d.id);
        let ts: i64 = d.timestamp.parse()?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        assert!((now.as_secs() as i64 - ts).abs() < 120, "timestamp {ts}");
        let body = d.json();
        assert!(
            body["timestamp"].is_string() && body["data"].is_object(),
            "{body}"
        );
    }
    Ok(())
}

fn online_socket(s: &Server, user: &str) -> Result<Ws, String> {
    let mut ws = Ws::connect(&s.ws_url(&with_token("/ws/online/", &token(user))))?;
    ws.recv_type("connection.established")?;
    Ok(ws)
}

fn notify(s: &Server, user: &str, title: &str) -> Result<String, String> {
    let body = json!({"user_id": user, "notification": {"title": title}});
    let (status, answer) = s.post_json("/api/notifications", Some(&api_key()), &body);
    assert_eq!(status, 201, "{answer}");
    Ok(answer["notifications"][0]["id"]
        .as_str()
        .unwrap_or("")
        .to_string())
}

fn every_event(_: &Server) -> TestResult {
    let (r, s) = hooked();
    let (ann, bob) = (unique("ann"), unique("bob"));
    let room = room_with(s, &[&ann, &bob]);
    let online = online_socket(s, &ann)?;
    let (mut chat, _) = join(s, &room, &ann)?;
    let ack = say(&mut chat, "hello webhooks")?;
    let unseen = notify(s, &bob, "nobody saw this")?;
    let inbox_path = with_token("/ws/notifications/", &token(&bob));
    let mut inbox = Ws::connect(&s.ws_url(&inbox_path))?;
    inbox.recv_type("connection.established")?;
    let seen_live = notify(s, &bob, "seen live")?;
    inbox.recv_until("notification")?;
    inbox.send_json(&json!({"type": "mark_read", "notification_id": unseen, "request_id": "m"}))?;
    inbox.recv_until("ack")?;

    let got = r.wait(&ann, WAIT, |d| has(d, "message.created"))?;
    let m = &of_kind(&got, "message.created")[0].json()["data"];
    assert_eq!(m["id"], ack["message_id"], "{m}");
    assert_eq!(
        (m["content"].as_str(), m["conversation_id"].as_str()),
        (Some("hello webhooks"), Some(room.as_str()))
    );
    let online_event = &of_kind(&got, "user.online")[0].json();
    assert_eq!(online_event["data"], json!({"user_id": ann}));

    notification_events(r, &bob, &unseen, &seen_live)?;

    online.close();
    chat.close();
    inbox.close();
    let got = r.wait(&room, WAIT, |d| has(d, "conversation.vacated"))?;
    let occupied = &of_kind(&got, "conversation.occupied")[0].json()["data"];
    assert_eq!(occupied["conversation_id"], room.as_str());
    assert_eq!(occupied["users"], json!([ann]));
    let got_ann = r.wait(&ann, WAIT, |d| has(d, "user.offline"))?;
    check_all(&got)?;
    check_all(&got_ann)?;
    // The reference implementation agrees on one of each kind (when the Python venv is there).
    for d in got.iter().chain(&got_ann) {
        if !verify_with_reference(SECRET, d)? {
            eprintln!("webhooks: python/.venv has no standardwebhooks; reference check skipped");
            break;
        }
    }
    Ok(())
}

/// `notification.created` for both (with `live_devices`), `notification.undelivered` only for
/// the one published while nothing was live, `notification.read` with the id marked.
fn notification_events(r: &Receiver, bob: &str, unseen: &str, seen_live: &str) -> TestResult {
    let got = r.wait(bob, WAIT, |d| {
        has(d, "notification.read") && of_kind(d, "notification.created").len() == 2
    })?;
    let created = of_kind(&got, "notification.created");
    assert_eq!(created[0].json()["data"]["notification"]["id"], unseen);
    assert_eq!(created[0].json()["data"]["live_devices"], 0);
    assert_eq!(created[1].json()["data"]["notification"]["id"], seen_live);
    assert_eq!(created[1].json()["data"]["live_devices"], 1);
    let undelivered = of_kind(&got, "notification.undelivered");
    assert_eq!(
        undelivered.len(),
        1,
        "only the one published with no live device"
    );
    assert_eq!(undelivered[0].json()["data"]["notification"]["id"], unseen);
    let read = &of_kind(&got, "notification.read")[0].json()["data"];
    assert_eq!(read["notification_ids"], json!([unseen]));
    check_all(&got)
}

fn kinds_of(r: &Receiver, needle: &str) -> Vec<String> {
    r.seen(needle).iter().map(Delivery::kind).collect()
}

fn reload(_: &Server) -> TestResult {
    let (r, s) = hooked();
    let carl = unique("carl");
    let first = online_socket(s, &carl)?;
    r.wait(&carl, WAIT, |d| has(d, "user.online"))?;
    first.close();
    let second = online_socket(s, &carl)?; // the reload
                                           // A session socket is a device too: open one, close it, /ws/online/ still holds.
    let session_path = with_token("/ws/chat/", &token(&carl));
    let mut session = Ws::connect(&s.ws_url(&session_path))?;
    session.recv_type("connection.established")?;
    session.close();
    std::thread::sleep(Duration::from_millis(GRACE_MS + 2_000));
    assert_eq!(
        kinds_of(r, &carl),
        ["user.online"],
        "a reload sends nothing"
    );
    second.close();
    let got = r.wait(&carl, WAIT, |d| has(d, "user.offline"))?;
    let kinds: Vec<String> = got.iter().map(Delivery::kind).collect();
    assert_eq!(kinds, ["user.online", "user.offline"]);
    check_all(&got)
}

fn messages(seen: &[Delivery]) -> Vec<(String, String, u16)> {
    of_kind(seen, "message.created")
        .iter()
        .map(|d| {
            let content = d.json()["data"]["content"]
                .as_str()
                .unwrap_or("")
                .to_string();
            (d.id.clone(), content, d.answered)
        })
        .collect()
}

fn retried(_: &Server) -> TestResult {
    let (r, s) = hooked();
    let ann = unique("ann");
    let room = room_with(s, &[&ann]);
    let (first, second) = (unique("retry-me"), unique("behind-it"));
    let fail = Step::Status(500);
    r.rule(&first, &[fail, fail, fail, Step::Status(200)]);
    let (mut chat, _) = join(s, &room, &ann)?;
    say(&mut chat, &first)?;
    say(&mut chat, &second)?;
    let got = r.wait(&room, WAIT, |d| messages(d).len() >= 5)?;
    let sent = messages(&got);
    let statuses: Vec<u16> = sent.iter().map(|m| m.2).collect();
    assert_eq!(statuses, [500, 500, 500, 200, 200]);
    assert!(
        sent[..4].iter().all(|m| m.0 == sent[0].0 && m.1 == first),
        "{sent:?}"
    );
    assert_eq!(
        sent[4].1, second,
        "the next event waits for the one before: {sent:?}"
    );
    assert_ne!(sent[4].0, sent[0].0);
    chat.close();
    check_all(&got)
}

fn failed_entry(s: &Server, message_id: &Value) -> Option<Value> {
    let (status, page) = s.get("/api/webhooks/failed?limit=200", Some(&api_key()));
    assert_eq!(status, 200, "{page}");
    page["webhooks"]
        .as_array()?
        .iter()
        .find(|w| w["payload"]["data"]["id"] == *message_id)
        .cloned()
}

fn given_up(_: &Server) -> TestResult {
    let (r, s) = hooked();
    let ann = unique("ann");
    let room = room_with(s, &[&ann]);
    let needle = unique("down");
    r.rule(&needle, &[Step::Status(503)]);
    let (mut chat, _) = join(s, &room, &ann)?;
    let ack = say(&mut chat, &needle)?;
    let until = Instant::now() + Duration::from_millis(MAX_AGE_MS) + WAIT;
    let entry = loop {
        if let Some(e) = failed_entry(s, &ack["message_id"]) {
            break e;
        }
        assert!(Instant::now() < until, "never listed as failed");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(entry["type"], "message.created");
    assert_eq!(entry["source"], format!("room:{room}"));
    assert_eq!(entry["error"], "HTTP 503");
    assert!(entry["attempts"].as_i64() >= Some(2), "{entry}");
    let tried = r.seen(&needle);
    assert!(tried
        .iter()
        .all(|d| d.id == entry["id"] && d.answered == 503));

    r.rule(&needle, &[Step::Status(200)]);
    let path = format!(
        "/api/webhooks/failed/{}/retry",
        entry["id"].as_str().unwrap_or("")
    );
    let (status, answer) = s.post_json(&path, Some(&api_key()), &json!({}));
    assert_eq!(
        (status, &answer["delivered"]),
        (200, &json!(true)),
        "{answer}"
    );
    let last = r.seen(&needle).pop().ok_or("no retry arrived")?;
    assert_eq!(
        (last.id.as_str(), last.answered),
        (entry["id"].as_str().unwrap_or(""), 200)
    );
    verify(SECRET, &last)?;
    assert!(
        failed_entry(s, &ack["message_id"]).is_none(),
        "delivered: off the list"
    );
    assert_eq!(s.post_json(&path, Some(&api_key()), &json!({})).0, 404);
    assert_eq!(
        s.get("/api/webhooks/failed", None).0,
        401,
        "server key only"
    );
    chat.close();
    Ok(())
}

fn hanging(_: &Server) -> TestResult {
    let (r, s) = hooked();
    let (ann, bob) = (unique("ann"), unique("bob"));
    let room = room_with(s, &[&ann, &bob]);
    let needle = unique("hang");
    r.rule(
        &needle,
        &[Step::Hang(Duration::from_secs(6)), Step::Status(200)],
    );
    let (mut a, _) = join(s, &room, &ann)?;
    let (mut b, _) = join(s, &room, &bob)?;
    say(&mut a, &needle)?;
    let until = Instant::now() + WAIT;
    while r.hanging() == 0 {
        assert!(Instant::now() < until, "the backend never got the request");
        std::thread::sleep(Duration::from_millis(50));
    }
    let during: Vec<String> = (0..3).map(|i| format!("{needle}-during-{i}")).collect();
    for text in &during {
        let ack = say(&mut a, text)?;
        let frame = loop {
            let f = b.recv_until("chat_message")?;
            if f["message"]["content"] == text.as_str() {
                break f;
            }
        };
        assert_eq!(frame["message"]["id"], ack["message_id"]);
    }
    // Order, not time: every ack and broadcast above came while the backend still held the
    // first event's request open.
    assert!(
        r.hanging() > 0,
        "the frames flowed while the request was held open"
    );
    let got = r.wait(&needle, WAIT, |d| messages(d).len() >= 4)?;
    let contents: Vec<String> = messages(&got).into_iter().map(|m| m.1).collect();
    let mut want = vec![needle.clone()];
    want.extend(during);
    assert_eq!(contents, want, "delivered once each, in order");
    a.close();
    b.close();
    check_all(&got)
}
