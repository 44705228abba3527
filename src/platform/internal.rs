//! The Worker → object hop. Only the Worker can reach an object, and it builds every
//! forwarded request from scratch (nothing from the client's headers is copied), so the
//! identity header below is always the Worker's own verified word.

use worker::wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, Response, Result};

use crate::domain::header::identity_header;
use crate::domain::identity::Identity;
use crate::domain::ids::{ObjectClass, StreamKey};
use crate::platform::http;

/// The verified [`Identity`] as JSON with non-ASCII escaped (see `domain::header`).
pub const IDENTITY: &str = "x-rt-identity";
pub const STREAM: &str = "x-rt-stream";
/// The user a user-JWT API call acts for (absent for the server key).
pub const USER: &str = "x-rt-user";
/// The client's `Idempotency-Key`, passed on to the object that does the work.
pub const IDEMPOTENCY: &str = "x-rt-idempotency-key";
/// Fingerprint of the whole client request when the forwarded body is only part of it.
pub const FINGERPRINT: &str = "x-rt-request-fingerprint";

/// Set by every object on its answers: random per object instance, so a new value means
/// the object was evicted and started again (how tests prove hibernation happened).
pub const INSTANCE: &str = "x-rt-instance";

/// Internal paths understood by every object.
pub const SOCKET_PATH: &str = "/socket";

/// On an inbox socket: the socket is a session (SPEC §9), not a notifications-only socket.
pub const SESSION_QUERY: &str = "session=1";

fn stub(env: &Env, stream: &StreamKey) -> Result<worker::Stub> {
    env.durable_object(stream.class().binding())?
        .id_from_name(&stream.object_name())?
        .get_stub()
}

/// Forwards a WebSocket upgrade for `who` to the stream's object; the 101 comes back.
///
/// No subprotocol is forwarded: the offer may be `bearer.<jwt>`, and the Worker answers
/// the subprotocol itself on the 101 it returns (see `http::answer_socket`).
pub async fn open_socket(
    env: &Env,
    stream: &StreamKey,
    who: &Identity,
    query: Option<&str>,
) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Upgrade", "websocket")?;
    headers.set(IDENTITY, &identity_header(who)?)?;
    headers.set(STREAM, stream.id().as_str())?;
    let url = match query {
        Some(q) => format!("https://object{SOCKET_PATH}?{q}"),
        None => format!("https://object{SOCKET_PATH}"),
    };
    let req = http::request(Method::Get, &url, &headers, None, false)?;
    stub(env, stream)?.fetch_with_request(req).await
}

/// A server API call forwarded to an object: method, internal path, body and context.
pub struct Command<'a> {
    pub method: Method,
    pub path: String,
    pub body: Option<String>,
    pub user: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
}

/// Sends a JSON command (server API) to the stream's object.
pub async fn command(env: &Env, stream: &StreamKey, cmd: Command<'_>) -> Result<Response> {
    let req = command_request(Some(stream.id().as_str()), cmd)?;
    stub(env, stream)?.fetch_with_request(req).await
}

/// Sends a JSON command to an object that serves no stream (the notification ledger),
/// addressed by its full object name.
pub async fn command_named(
    env: &Env,
    class: ObjectClass,
    name: &str,
    cmd: Command<'_>,
) -> Result<Response> {
    let req = command_request(None, cmd)?;
    env.durable_object(class.binding())?
        .id_from_name(name)?
        .get_stub()?
        .fetch_with_request(req)
        .await
}

fn command_request(stream_id: Option<&str>, cmd: Command<'_>) -> Result<Request> {
    let Command {
        method,
        path,
        body,
        user,
        idempotency_key,
        fingerprint,
    } = cmd;
    let headers = Headers::new();
    if let Some(id) = stream_id {
        headers.set(STREAM, id)?;
    }
    headers.set("content-type", "application/json")?;
    if let Some(u) = user {
        headers.set(USER, u)?;
    }
    if let Some(k) = idempotency_key {
        headers.set(IDEMPOTENCY, k)?;
    }
    if let Some(f) = fingerprint {
        headers.set(FINGERPRINT, f)?;
    }
    let body = body.map(JsValue::from);
    let url = format!("https://object{path}");
    http::request(method, &url, &headers, body.as_ref(), false)
}

/// Object → object: POSTs `body` as JSON to `path` on the stream's object (sessions: room ↔
/// inbox). Internal paths are reachable only this way: the Worker never routes to them.
pub async fn post<T: serde::Serialize>(
    env: &Env,
    stream: &StreamKey,
    path: &str,
    body: &T,
) -> Result<Response> {
    let body = serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    post_text(env, stream, path, body).await
}

/// [`post`] with the JSON already written (a hand-off serializes one body for many).
pub async fn post_text(
    env: &Env,
    stream: &StreamKey,
    path: &str,
    body: String,
) -> Result<Response> {
    let cmd = Command {
        method: Method::Post,
        path: path.to_string(),
        body: Some(body),
        user: None,
        idempotency_key: None,
        fingerprint: None,
    };
    command(env, stream, cmd).await
}
