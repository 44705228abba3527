//! HTTP plumbing shared by the entry and the objects: JSON responses, the one mapping from
//! [`ApiError`] to a response, accept-then-close answers for sockets that are refused, and
//! the one constructor of outgoing requests.

use serde::Serialize;
use worker::wasm_bindgen::JsValue;
use worker::web_sys;
use worker::{Error, Headers, Method, Request, Response, Result, WebSocketPair};

use crate::domain::errors::{ApiError, Close};
use crate::domain::query::Query;

/// A runtime failure (storage, a binding, another object) inside a request: logged here,
/// where it becomes a 503, and never shown to the client.
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        worker::console_error!("request failed, answering 503: {e}");
        ApiError::Unavailable
    }
}

/// The request's query, from the URL the runtime has already parsed (not `Request::url`,
/// which parses it again with the `url` crate).
pub fn query(req: &Request) -> Query {
    Query::of_url(&req.inner().url())
}

/// A request's JSON body as `T`. Read as text by serde_json: workers-rs's `Request::json`
/// walks the parsed object with serde_wasm_bindgen, a second deserializer in the Wasm.
pub async fn body<T: serde::de::DeserializeOwned>(req: &mut Request) -> Result<T> {
    Ok(serde_json::from_str(&req.text().await?)?)
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

/// The only place an [`ApiError`] becomes a response.
pub fn error(e: &ApiError) -> Result<Response> {
    json(e.status(), &e.body())
}

/// Accepts a WebSocket and closes it at once with `close`, so a browser can read the code
/// (a refused HTTP handshake shows browsers only "failed").
pub fn refuse_socket(close: Close, protocol: Option<&str>) -> Result<Response> {
    let pair = WebSocketPair::new()?;
    pair.server.accept()?;
    pair.server
        .close(Some(close.code()), Some(close.reason()))?;
    with_protocol(Response::from_websocket(pair.client)?, protocol)
}

/// The object's 101 as the Worker returns it, answering `protocol`.
///
/// The object never sees the offered subprotocols (one may carry the token), so the Worker
/// names the answer. The socket moves to a fresh response rather than editing the object's,
/// whose headers belong to a fetched response and may be immutable.
pub fn answer_socket(resp: Response, protocol: Option<&str>) -> Result<Response> {
    if resp.status_code() != 101 || protocol.is_none() {
        return Ok(resp);
    }
    let Some(ws) = resp.websocket() else {
        return Err(Error::RustError(
            "object answered 101 without a socket".into(),
        ));
    };
    with_protocol(Response::from_websocket(ws)?, protocol)
}

/// Sets the answered subprotocol on a 101 response.
pub fn with_protocol(mut resp: Response, protocol: Option<&str>) -> Result<Response> {
    if let Some(p) = protocol {
        resp.headers_mut().set("Sec-WebSocket-Protocol", p)?;
    }
    Ok(resp)
}

/// A request to send (to an object, an identity provider, a webhook receiver, a push
/// service), built with the runtime's own constructor: workers-rs's `RequestInit` also
/// converts its `cf` options (image resizing, Polish, …) on every request, never set here,
/// and that conversion was about 4 KB of the Wasm's gzip size. `no_store` bypasses the cache.
pub fn request(
    method: Method,
    url: &str,
    headers: &Headers,
    body: Option<&JsValue>,
    no_store: bool,
) -> Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_ref());
    init.set_headers_headers(&headers.0);
    if let Some(body) = body {
        init.set_body(body);
    }
    if no_store {
        init.set_cache(web_sys::RequestCache::NoStore);
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init)
        .map_err(|_| Error::RustError(format!("not a request URL: {url}")))?;
    Ok(Request::from(request))
}
