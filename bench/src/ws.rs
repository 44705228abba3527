//! WebSocket clients: open an authenticated socket and wait for `connection.established`,
//! and a subscriber loop that timestamps every benchmark `chat_message` it receives.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::now_ns;
use crate::stats::Lat;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a handshake plus the first frame may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects (Nagle off) and waits for `connection.established`.
pub async fn open(url: &str) -> Result<Ws, String> {
    open_joined(url, None).await
}

/// [`open`], then (a session socket, SPEC §9) `join_conversation` for `join` and a wait for
/// its `joined` (an `error` instead fails the open).
pub async fn open_joined(url: &str, join: Option<&str>) -> Result<Ws, String> {
    let call = async {
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains("connection.established") => break,
                Some(Ok(Message::Close(f))) => {
                    return Err(format!("closed before established: {f:?}"))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("read: {e}")),
                None => return Err("eof before established".into()),
            }
        }
        let Some(conv) = join else { return Ok(ws) };
        let frame = serde_json::json!({"type": "join_conversation", "conversation_id": conv});
        ws.send(Message::text(frame.to_string()))
            .await
            .map_err(|e| format!("send join: {e}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains(r#""type":"joined""#) => return Ok(ws),
                Some(Ok(Message::Text(t))) if t.contains(r#""type":"error""#) => {
                    return Err(format!("join refused: {t}"))
                }
                Some(Ok(Message::Close(f))) => return Err(format!("closed before joined: {f:?}")),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("read: {e}")),
                None => return Err("eof before joined".into()),
            }
        }
    };
    tokio::time::timeout(OPEN_TIMEOUT, call)
        .await
        .map_err(|_| "open timed out".to_string())?
}

/// Opens one socket per URL, `parallel` at a time; each result keeps its own latency.
pub async fn open_many(urls: Vec<String>, parallel: usize) -> Vec<Result<(Ws, u64), String>> {
    open_many_joined(urls, parallel, None).await
}

/// [`open_many`] with [`open_joined`]: session sockets that join conversation `join`.
pub async fn open_many_joined(
    urls: Vec<String>,
    parallel: usize,
    join: Option<String>,
) -> Vec<Result<(Ws, u64), String>> {
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let (gate, join) = (gate.clone(), join.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                let start = now_ns();
                open_joined(&url, join.as_deref())
                    .await
                    .map(|ws| (ws, now_ns() - start))
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.unwrap_or_else(|e| Err(e.to_string())));
    }
    out
}

/// What one subscriber saw.
#[derive(Default)]
pub struct Seen {
    pub lat: Lat,
    pub unique: u64,
    pub dups: u64,
    pub errors: u64,
    pub last_ns: u64,
    pub failure: Option<String>,
    /// Benchmark messages whose `seq` was not above the last one this socket got (arrived
    /// out of seq order; duplicates are counted apart).
    pub out_of_order: u64,
    /// Benchmark messages whose frame lacked a `seq` or named another conversation.
    pub malformed: u64,
    /// `seq` of message `n` as this socket saw it (0 = not seen), to cross-check sockets.
    pub seqs: Vec<u64>,
}

/// What a subscriber checks on each benchmark frame.
#[derive(Clone, Default)]
pub struct Expect {
    pub messages: usize,
    /// Session frames must start with `{"conversation_id":"<room>"` (SPEC §9 tagging).
    pub conversation: Option<String>,
}

/// Reads until `expect` distinct benchmark messages arrived or `stop` flips; returns the
/// socket too, so that it closes only when the caller drops it.
pub async fn subscribe(ws: Ws, expect: usize, stop: watch::Receiver<bool>) -> (Seen, Ws) {
    let e = Expect {
        messages: expect,
        conversation: None,
    };
    subscribe_checked(ws, e, stop).await
}

/// [`subscribe`] with the checks of `e` (seq order, conversation tag).
pub async fn subscribe_checked(
    mut ws: Ws,
    e: Expect,
    mut stop: watch::Receiver<bool>,
) -> (Seen, Ws) {
    let expect = e.messages;
    let prefix = e
        .conversation
        .as_ref()
        .map(|c| format!(r#"{{"conversation_id":"{c}","#));
    let mut seen = Seen {
        seqs: vec![0; expect],
        ..Seen::default()
    };
    let mut last_seq = 0u64;
    let mut got = vec![false; expect];
    while (seen.unique as usize) < expect {
        let frame = tokio::select! {
            f = ws.next() => f,
            _ = stop.changed() => break,
        };
        match frame {
            Some(Ok(Message::Text(t))) => {
                if on_text(&t, &mut seen, &mut got) {
                    let tagged = prefix.as_ref().is_none_or(|p| t.starts_with(p.as_str()));
                    match bench_seq(&t) {
                        Some(seq) if tagged => {
                            if seq <= last_seq {
                                seen.out_of_order += 1;
                            }
                            last_seq = last_seq.max(seq);
                            if let Some((n, _)) = bench_message(&t) {
                                seen.seqs[n] = seq;
                            }
                        }
                        _ => seen.malformed += 1,
                    }
                }
            }
            Some(Ok(Message::Close(f))) => {
                seen.failure = Some(format!("closed: {f:?}"));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                seen.failure = Some(format!("read: {e}"));
                break;
            }
            None => {
                seen.failure = Some("eof".into());
                break;
            }
        }
    }
    (seen, ws)
}

/// Counts one frame; true when it was a first receipt of a benchmark message.
fn on_text(text: &str, seen: &mut Seen, got: &mut [bool]) -> bool {
    let now = now_ns();
    match bench_message(text) {
        Some((n, sent)) if n < got.len() => {
            if got[n] {
                seen.dups += 1;
                false
            } else {
                got[n] = true;
                seen.unique += 1;
                seen.lat.record_ns(now.saturating_sub(sent));
                seen.last_ns = seen.last_ns.max(now);
                true
            }
        }
        _ if text.contains(r#""type":"error""#) => {
            seen.errors += 1;
            false
        }
        _ => false,
    }
}

/// The first `"seq":N` of a frame (the top-level one; `message.seq` is the same number).
pub fn bench_seq(text: &str) -> Option<u64> {
    const KEY: &str = r#""seq":"#;
    let rest = &text[text.find(KEY)? + KEY.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `(n, sent_ns)` from a `chat_message` whose content is `b:<n>:<sent_ns>`. A substring scan,
/// not a JSON parse, so that the generator's single core keeps up with large fan-outs.
pub fn bench_message(text: &str) -> Option<(usize, u64)> {
    if !text.contains(r#""type":"chat_message""#) {
        return None;
    }
    const KEY: &str = r#""content":"b:"#;
    let start = text.find(KEY)? + KEY.len();
    let rest = &text[start..];
    let content = &rest[..rest.find('"')?];
    let (n, sent) = content.split_once(':')?;
    Some((n.parse().ok()?, sent.parse().ok()?))
}

/// The text of a benchmark chat frame for message `n`, stamped now.
pub fn chat_frame(n: usize) -> String {
    format!(
        r#"{{"type":"chat_message","content":"b:{n}:{}","request_id":"r{n}"}}"#,
        now_ns()
    )
}
