//! A blocking WebSocket test client: handshake with chosen headers, JSON frames, close codes.
//!
//! Every socket read has a 15 s timeout ([`Ws::set_hang_guard`] changes it per socket). That
//! is a hang guard (a missing frame fails the test instead of blocking the run), not a timing
//! assertion.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Response;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::{HeaderValue, Uri};
use tungstenite::{Error as WsError, Message, WebSocket};

const HANG_GUARD: Duration = Duration::from_secs(15);
/// How many unrelated frames `recv_until` skips before giving up.
const MAX_SKIPPED: usize = 100;

/// An open client socket.
pub struct Ws {
    inner: WebSocket<TcpStream>,
}

/// Options for one handshake; see [`Ws::builder`].
pub struct WsBuilder {
    url: String,
    headers: Vec<(&'static str, String)>,
}

impl WsBuilder {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// `Origin: <origin>`.
    pub fn origin(self, origin: &str) -> Self {
        self.header("Origin", origin.to_string())
    }

    /// `Sec-WebSocket-Protocol: <protocols>` (comma list, as a browser sends it).
    pub fn protocol(self, protocols: &str) -> Self {
        self.header("Sec-WebSocket-Protocol", protocols.to_string())
    }

    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Performs the handshake. A non-101 answer is `Err(tungstenite::Error::Http(response))`.
    pub fn connect(self) -> Result<(Ws, Response), Box<WsError>> {
        let mut request = self.url.as_str().into_client_request()?;
        for (name, value) in &self.headers {
            let value = HeaderValue::from_str(value).map_err(|e| WsError::HttpFormat(e.into()))?;
            request.headers_mut().insert(*name, value);
        }
        let stream = open_tcp(request.uri()).map_err(WsError::Io)?;
        match tungstenite::client::client(request, stream) {
            Ok((inner, response)) => Ok((Ws { inner }, response)),
            Err(HandshakeError::Failure(e)) => Err(Box::new(e)),
            Err(HandshakeError::Interrupted(_)) => Err(Box::new(WsError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "handshake: no answer within the hang guard",
            )))),
        }
    }
}

/// A TCP connection to the URI's host with the hang guard on connect, read and write.
fn open_tcp(uri: &Uri) -> io::Result<TcpStream> {
    let host = uri.host().unwrap_or("127.0.0.1");
    let addr = (host, uri.port_u16().unwrap_or(80))
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    let stream = TcpStream::connect_timeout(&addr, HANG_GUARD)?;
    stream.set_read_timeout(Some(HANG_GUARD))?;
    stream.set_write_timeout(Some(HANG_GUARD))?;
    Ok(stream)
}

impl Ws {
    pub fn builder(url: &str) -> WsBuilder {
        WsBuilder {
            url: url.to_string(),
            headers: Vec::new(),
        }
    }

    /// Connects with no extra headers; a failed handshake is an `Err` message.
    pub fn connect(url: &str) -> Result<Ws, String> {
        Ws::builder(url)
            .connect()
            .map(|(ws, _)| ws)
            .map_err(|e| describe_handshake_error(url, *e))
    }

    pub fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.inner
            .send(Message::text(text))
            .map_err(|e| format!("send failed: {e}"))
    }

    pub fn send_json(&mut self, value: &Value) -> Result<(), String> {
        self.send_text(&value.to_string())
    }

    /// The next text frame as it arrived (control frames are skipped).
    pub fn recv_text(&mut self) -> Result<String, String> {
        loop {
            match self.inner.read() {
                Ok(Message::Text(text)) => return Ok(text.to_string()),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Ok(Message::Binary(b)) => return Err(format!("unexpected binary frame {b:?}")),
                Ok(Message::Close(frame)) => {
                    return Err(format!("socket closed by the server: {frame:?}"))
                }
                Err(e) => return Err(describe_read_error(e)),
            }
        }
    }

    /// The next text frame, parsed as JSON.
    pub fn recv(&mut self) -> Result<Value, String> {
        let text = self.recv_text()?;
        serde_json::from_str(&text).map_err(|e| format!("frame is not JSON ({e}): {text}"))
    }

    /// The next frame, which must have `"type": t`.
    pub fn recv_type(&mut self, t: &str) -> Result<Value, String> {
        let frame = self.recv()?;
        if frame["type"] == t {
            Ok(frame)
        } else {
            Err(format!("expected a `{t}` frame, got {frame}"))
        }
    }

    /// Skips frames until one with `"type": t` and returns it.
    pub fn recv_until(&mut self, t: &str) -> Result<Value, String> {
        let text = self.recv_until_raw(t)?;
        serde_json::from_str(&text).map_err(|e| format!("frame is not JSON ({e}): {text}"))
    }

    /// Like [`Ws::recv_until`] but returns the frame's exact text.
    pub fn recv_until_raw(&mut self, t: &str) -> Result<String, String> {
        let mut skipped = Vec::new();
        while skipped.len() < MAX_SKIPPED {
            let text = self
                .recv_text()
                .map_err(|e| format!("waiting for `{t}` (skipped {skipped:?}): {e}"))?;
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if value["type"] == t {
                return Ok(text);
            }
            skipped.push(text);
        }
        Err(format!("no `{t}` frame among {MAX_SKIPPED}: {skipped:?}"))
    }

    /// Sets the read timeout of this socket (the hang guard) to `guard`, for trials whose
    /// next frame may take longer than [`HANG_GUARD`] to arrive (a server-initiated close
    /// outside the socket's own event reaches an idle client late on local workerd).
    pub fn set_hang_guard(&mut self, guard: Duration) -> Result<(), String> {
        self.inner
            .get_mut()
            .set_read_timeout(Some(guard))
            .map_err(|e| format!("set the read timeout: {e}"))
    }

    /// The next frame (control frames aside) must be the server's Close with `code`: a text
    /// frame first is an error naming it. The close is answered, as a browser would.
    pub fn expect_close_next(&mut self, code: u16) -> Result<(), String> {
        loop {
            match self.inner.read() {
                Ok(Message::Close(Some(frame))) => {
                    let _ = self.inner.flush();
                    let got = u16::from(frame.code);
                    return match got == code {
                        true => Ok(()),
                        false => Err(format!("expected close {code}, got close {got}")),
                    };
                }
                Ok(Message::Close(None)) => {
                    return Err(format!("expected close {code}, got a close without a code"))
                }
                Ok(Message::Text(text)) => {
                    return Err(format!("expected close {code} next, got the frame {text}"))
                }
                Ok(_) => continue,
                Err(e) => return Err(format!("expected close {code}: {}", describe_read_error(e))),
            }
        }
    }

    /// Reads until the server's Close frame and checks its code. Text frames before it are
    /// allowed (and reported if the code is wrong); a connection dropped without a Close
    /// frame is an error.
    pub fn expect_close(&mut self, code: u16) -> Result<(), String> {
        let mut before = Vec::new();
        loop {
            match self.inner.read() {
                Ok(Message::Close(Some(frame))) => {
                    let got = u16::from(frame.code);
                    if got == code {
                        return Ok(());
                    }
                    return Err(format!(
                        "expected close {code}, got {got} ({:?}); frames before: {before:?}",
                        frame.reason.as_str()
                    ));
                }
                Ok(Message::Close(None)) => {
                    return Err(format!("expected close {code}, got a close without a code"))
                }
                Ok(Message::Text(text)) => before.push(text.to_string()),
                Ok(_) => continue,
                Err(e) => {
                    return Err(format!(
                        "expected close {code}: {}; frames before: {before:?}",
                        describe_read_error(e)
                    ))
                }
            }
        }
    }

    /// Closes from the client side with 1000 and returns the code of the server's answering
    /// close frame (an unanswered close shows as an error, like a browser's 1006).
    pub fn close_handshake(&mut self) -> Result<u16, String> {
        let frame = tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "bye".into(),
        };
        self.inner
            .close(Some(frame))
            .map_err(|e| format!("close failed: {e}"))?;
        loop {
            match self.inner.read() {
                Ok(Message::Close(Some(f))) => return Ok(u16::from(f.code)),
                Ok(Message::Close(None)) => return Ok(1005),
                Ok(_) => continue,
                Err(e) => return Err(describe_read_error(e)),
            }
        }
    }

    /// Closes from the client side (normal closure) without waiting for the reply.
    pub fn close(mut self) {
        let _ = self.inner.close(None);
        let _ = self.inner.flush();
    }
}

/// The HTTP status of a refused handshake, if that is what the error is.
pub fn handshake_status(err: &WsError) -> Option<u16> {
    match err {
        WsError::Http(response) => Some(response.status().as_u16()),
        _ => None,
    }
}

fn describe_handshake_error(url: &str, err: WsError) -> String {
    match err {
        WsError::Http(response) => {
            let body = response.body().as_deref().unwrap_or_default();
            format!(
                "handshake to {url} refused with HTTP {}: {}",
                response.status(),
                String::from_utf8_lossy(body)
            )
        }
        other => format!("handshake to {url} failed: {other}"),
    }
}

fn describe_read_error(err: WsError) -> String {
    match err {
        WsError::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            "no frame within the hang guard".to_string()
        }
        WsError::ConnectionClosed | WsError::AlreadyClosed => "connection closed".to_string(),
        other => format!("read failed: {other}"),
    }
}
