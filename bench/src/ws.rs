//! WebSocket clients: open an authenticated socket and wait for `connection.established`,
//! and a subscriber loop that timestamps every benchmark `chat_message` it receives.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
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
    let call = async {
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains("connection.established") => {
                    return Ok(ws)
                }
                Some(Ok(Message::Close(f))) => {
                    return Err(format!("closed before established: {f:?}"))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("read: {e}")),
                None => return Err("eof before established".into()),
            }
        }
    };
    tokio::time::timeout(OPEN_TIMEOUT, call)
        .await
        .map_err(|_| "open timed out".to_string())?
}

/// Opens one socket per URL, `parallel` at a time; each result keeps its own latency.
pub async fn open_many(urls: Vec<String>, parallel: usize) -> Vec<Result<(Ws, u64), String>> {
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                let start = now_ns();
                open(&url).await.map(|ws| (ws, now_ns() - start))
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
}

/// Reads until `expect` distinct benchmark messages arrived or `stop` flips; returns the
/// socket too, so that it closes only when the caller drops it.
pub async fn subscribe(mut ws: Ws, expect: usize, mut stop: watch::Receiver<bool>) -> (Seen, Ws) {
    let mut seen = Seen::default();
    let mut got = vec![false; expect];
    while (seen.unique as usize) < expect {
        let frame = tokio::select! {
            f = ws.next() => f,
            _ = stop.changed() => break,
        };
        match frame {
            Some(Ok(Message::Text(t))) => on_text(&t, &mut seen, &mut got),
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

fn on_text(text: &str, seen: &mut Seen, got: &mut [bool]) {
    let now = now_ns();
    match bench_message(text) {
        Some((n, sent)) if n < got.len() => {
            if got[n] {
                seen.dups += 1;
            } else {
                got[n] = true;
                seen.unique += 1;
                seen.lat.record_ns(now.saturating_sub(sent));
                seen.last_ns = seen.last_ns.max(now);
            }
        }
        _ if text.contains(r#""type":"error""#) => seen.errors += 1,
        _ => {}
    }
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
