//! Socket endpoints as test targets: fresh ids per use, a token that may open the endpoint,
//! and the stream id its `connection.established` should name.

use serde_json::{json, Value};

use libtest_mimic::Trial;

use super::{token, token_with, trial, unique, Server, TestResult, Ws};

/// A socket endpoint kind; [`Target::new`] makes fresh ids and a token that may open it.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    Chat,
    Conversations,
    Dm,
    Notifications,
    Notify,
    Events,
    Online,
}

pub const ENDPOINTS: [Endpoint; 7] = [
    Endpoint::Chat,
    Endpoint::Conversations,
    Endpoint::Dm,
    Endpoint::Notifications,
    Endpoint::Notify,
    Endpoint::Events,
    Endpoint::Online,
];

/// A case run once per endpoint kind.
pub type EndpointCase = fn(&Server, Endpoint) -> TestResult;

/// One trial per `(group, name, case)` and endpoint kind, named `group::endpoint::name`.
pub fn per_endpoint(cases: &[(&str, &str, EndpointCase)]) -> Vec<Trial> {
    let mut trials = Vec::new();
    for ep in ENDPOINTS {
        for &(group, name, body) in cases {
            let label = format!("{group}::{}::{name}", ep.name());
            trials.push(trial(label, move |s| body(s, ep)));
        }
    }
    trials
}

impl Endpoint {
    pub fn name(self) -> String {
        format!("{self:?}").to_lowercase()
    }
}

/// Where to connect, as whom, and the stream id `connection.established` should name.
pub struct Target {
    pub endpoint: Endpoint,
    pub path: String,
    pub user: String,
    pub token: String,
    pub stream: String,
}

impl Target {
    pub fn new(endpoint: Endpoint) -> Target {
        let user = unique("alice");
        let room = unique("room");
        let (path, stream, token) = match endpoint {
            Endpoint::Chat => (format!("/ws/chat/{room}/"), room, token(&user)),
            Endpoint::Conversations => (format!("/ws/conversations/{room}/"), room, token(&user)),
            Endpoint::Dm => {
                let peer = unique("bob");
                let dm = dm_id(&user, &peer);
                (format!("/ws/dm/{peer}/"), dm, token(&user))
            }
            Endpoint::Notifications => ("/ws/notifications/".into(), String::new(), token(&user)),
            Endpoint::Notify => ("/ws/notify/".into(), String::new(), token(&user)),
            Endpoint::Events => {
                let org = unique("acme");
                let token = token_with(json!({"sub": user, "orgs": [org]}));
                (format!("/ws/events/{org}/"), org, token)
            }
            Endpoint::Online => ("/ws/online/".into(), "_online".into(), token(&user)),
        };
        Target {
            endpoint,
            path,
            user,
            token,
            stream,
        }
    }

    /// Lets the user in: conversation membership through the server API (a DM admits its
    /// two users, the other endpoints need nothing beyond the token).
    pub fn admit(&self, s: &Server) {
        if matches!(self.endpoint, Endpoint::Chat | Endpoint::Conversations) {
            s.add_member(&self.stream, &self.user);
        }
    }

    /// Admits the user, connects with `?token=` and returns the socket and its
    /// `connection.established`.
    pub fn open(&self, s: &Server) -> Result<(Ws, Value), String> {
        self.admit(s);
        let mut ws = Ws::connect(&s.ws_url(&with_token(&self.path, &self.token)))?;
        let hello = ws.recv_type("connection.established")?;
        assert_eq!(hello["user_id"], self.user.as_str(), "user_id in {hello}");
        assert!(
            hello["last_seq"].is_u64(),
            "last_seq must be a number: {hello}"
        );
        Ok((ws, hello))
    }
}

pub fn dm_id(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("dm:{lo}:{hi}")
}

/// Appends `token=<t>` to a path's query string (percent-encoding what needs it).
pub fn with_token(path: &str, t: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let encoded: String = t
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{path}{sep}token={encoded}")
}
