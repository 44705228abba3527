//! Request routing: turns a method and path into a typed [`Route`], validating every id.
//!
//! Routing is pure so that the whole table (aliases, trailing slashes, bad ids, wrong
//! methods) is unit-tested natively; the Worker entry only matches on the result.

use super::ids::{Id, IdError, StreamKey};

/// A WebSocket endpoint (SPEC §3). Dm keeps the peer: the room id depends on the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketRoute {
    Conversation(Id),
    Dm(Id),
    Notifications,
    OrgEvents(Id),
    Online,
    /// `/ws/chat/` and `/ws/` with no id: the user's session (SPEC §9).
    Session,
}

/// Endpoint names that `/ws/{user_id}/` (the DM alias of SPEC §9) never takes for a user.
pub const RESERVED_SOCKET_NAMES: &[&str] = &[
    "chat",
    "dm",
    "notifications",
    "notify",
    "events",
    "online",
    "conversations",
];

/// A server API endpoint (SPEC §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    PublishNotifications,
    PublishOrgEvent(Id),
    PostMessage(Id),
    ListMessages(Id),
    PutMember(Id, Id),
    DeleteMember(Id, Id),
    ListMembers(Id),
    PutOrgMember(Id, Id),
    DeleteOrgMember(Id, Id),
    ListNotifications(Id),
    ConversationPresence(Id),
    OrgPresence(Id),
    /// `GET /api/webhooks/failed` (SPEC §10).
    ListFailedWebhooks,
    /// `POST /api/webhooks/failed/{id}/retry`.
    RetryWebhook(Id),
    /// `GET /api/push/vapid-public-key` (SPEC §11): public, no credentials.
    PushPublicKey,
    /// Web Push subscriptions of a user: `None` is `/api/push/subscriptions` (the user of
    /// the JWT), `Some` is `/api/users/{id}/push-subscriptions` (server key). The method
    /// says what is done: `POST` adds, `DELETE` removes, `GET` lists.
    PushSubscriptions(Option<Id>),
}

impl ApiRoute {
    /// Routes that a user JWT may call as well as the server key (SPEC §5).
    pub fn user_readable(&self) -> bool {
        matches!(
            self,
            ApiRoute::ListMessages(_)
                | ApiRoute::ListNotifications(_)
                | ApiRoute::PushSubscriptions(None)
        )
    }

    /// The stream this route acts on; `None` for fan-out across users.
    pub fn stream(&self) -> Option<StreamKey> {
        use ApiRoute::*;
        Some(match self {
            PublishNotifications
            | ListFailedWebhooks
            | RetryWebhook(_)
            | PushPublicKey
            | PushSubscriptions(None) => return None,
            PostMessage(c)
            | ListMessages(c)
            | PutMember(c, _)
            | DeleteMember(c, _)
            | ListMembers(c)
            | ConversationPresence(c) => StreamKey::Conversation(c.clone()),
            PublishOrgEvent(o) | PutOrgMember(o, _) | DeleteOrgMember(o, _) | OrgPresence(o) => {
                StreamKey::Org(o.clone())
            }
            ListNotifications(u) | PushSubscriptions(Some(u)) => StreamKey::User(u.clone()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    Socket(SocketRoute),
    Api(ApiRoute),
    /// `GET /dev/token`: development tokens, only when enabled in `.dev.vars`.
    DevToken,
}

/// Why a path did not route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no such endpoint")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    BadId(#[from] IdError),
}

/// True for paths under `/ws/`: a bad id there is answered with close 4400 on an upgrade
/// (so browsers can read it) and 400 otherwise.
pub fn is_socket_path(path: &str) -> bool {
    path == "/ws" || path.starts_with("/ws/")
}

/// Routes `method path` (path without query string).
pub fn route(method: &str, path: &str) -> Result<Route, RouteError> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segs.first().copied() {
        Some("ws") => socket_route(&segs[1..]).map(Route::Socket),
        Some("api") => api_route(method, &segs[1..]).map(Route::Api),
        Some("healthz") if segs.len() == 1 => Ok(Route::Health),
        Some("dev") if segs == ["dev", "token"] => Ok(Route::DevToken),
        _ => Err(RouteError::NotFound),
    }
}

/// A path segment as an id. Clients that percent-encode (`dm%3Aa%3Ab` for `dm:a:b`) reach the
/// same id; anything that decodes to a character ids do not allow is still refused.
fn id(segment: &str) -> Result<Id, RouteError> {
    Id::parse(&percent_decoded(segment)).map_err(RouteError::from)
}

/// `%XX` sequences decoded (a malformed one is kept as it is, and then fails the id rule).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn socket_route(segs: &[&str]) -> Result<SocketRoute, RouteError> {
    match segs {
        ["chat" | "conversations", c] => Ok(SocketRoute::Conversation(id(c)?)),
        ["dm", u] => Ok(SocketRoute::Dm(id(u)?)),
        ["notifications" | "notify"] => Ok(SocketRoute::Notifications),
        ["events", o] => Ok(SocketRoute::OrgEvents(id(o)?)),
        ["online"] => Ok(SocketRoute::Online),
        [] | ["chat"] => Ok(SocketRoute::Session),
        [u] if !RESERVED_SOCKET_NAMES.contains(u) => Ok(SocketRoute::Dm(id(u)?)),
        _ => Err(RouteError::NotFound),
    }
}

fn api_route(method: &str, segs: &[&str]) -> Result<ApiRoute, RouteError> {
    use ApiRoute::*;
    // The shape decides the endpoint; then the method must be one it serves.
    let (route, allowed): (ApiRoute, &[&str]) = match segs {
        ["notifications"] => (PublishNotifications, &["POST"]),
        ["orgs", o, "events"] => (PublishOrgEvent(id(o)?), &["POST"]),
        ["orgs", o, "presence"] => (OrgPresence(id(o)?), &["GET"]),
        ["orgs", o, "members", u] => {
            let (o, u) = (id(o)?, id(u)?);
            match method {
                "DELETE" => (DeleteOrgMember(o, u), &["DELETE"]),
                _ => (PutOrgMember(o, u), &["PUT"]),
            }
        }
        ["conversations", c, "messages"] => match method {
            "GET" => (ListMessages(id(c)?), &["GET"]),
            _ => (PostMessage(id(c)?), &["POST"]),
        },
        ["conversations", c, "members"] => (ListMembers(id(c)?), &["GET"]),
        ["conversations", c, "members", u] => {
            let (c, u) = (id(c)?, id(u)?);
            match method {
                "DELETE" => (DeleteMember(c, u), &["DELETE"]),
                _ => (PutMember(c, u), &["PUT"]),
            }
        }
        ["conversations", c, "presence"] => (ConversationPresence(id(c)?), &["GET"]),
        ["users", u, "notifications"] => (ListNotifications(id(u)?), &["GET"]),
        ["webhooks", "failed"] => (ListFailedWebhooks, &["GET"]),
        ["webhooks", "failed", w, "retry"] => (RetryWebhook(id(w)?), &["POST"]),
        ["push", "vapid-public-key"] => (PushPublicKey, &["GET"]),
        ["push", "subscriptions"] => (PushSubscriptions(None), &["GET", "POST", "DELETE"]),
        ["users", u, "push-subscriptions"] => {
            (PushSubscriptions(Some(id(u)?)), &["GET", "POST", "DELETE"])
        }
        _ => return Err(RouteError::NotFound),
    };
    if allowed.contains(&method) {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoded_ids_reach_the_same_id() {
        let plain = route("GET", "/api/conversations/dm:a:b/messages").unwrap();
        assert_eq!(
            route("GET", "/api/conversations/dm%3Aa%3ab/messages").unwrap(),
            plain
        );
        assert_eq!(
            route("GET", "/ws/chat/x%2Fy/"),
            Err(RouteError::BadId(IdError::Malformed)),
            "a decoded slash is still not an id character"
        );
        assert_eq!(
            percent_decoded("a%zz%4"),
            "a%zz%4",
            "malformed escapes stay"
        );
    }

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap()
    }

    #[test]
    fn socket_paths_and_aliases_with_optional_trailing_slash() {
        let cases = [
            ("/ws/chat/c1/", SocketRoute::Conversation(id("c1"))),
            ("/ws/chat/c1", SocketRoute::Conversation(id("c1"))),
            ("/ws/conversations/c1/", SocketRoute::Conversation(id("c1"))),
            ("/ws/dm/u2/", SocketRoute::Dm(id("u2"))),
            ("/ws/notifications/", SocketRoute::Notifications),
            ("/ws/notify", SocketRoute::Notifications),
            ("/ws/events/acme/", SocketRoute::OrgEvents(id("acme"))),
            ("/ws/online/", SocketRoute::Online),
            ("/ws/chat/", SocketRoute::Session),
            ("/ws/chat", SocketRoute::Session),
            ("/ws/", SocketRoute::Session),
            ("/ws", SocketRoute::Session),
            ("/ws/u2/", SocketRoute::Dm(id("u2"))),
            ("/ws/42", SocketRoute::Dm(id("42"))),
        ];
        for (path, want) in cases {
            assert_eq!(route("GET", path), Ok(Route::Socket(want)), "{path}");
        }
    }

    #[test]
    fn unknown_socket_paths_are_not_found() {
        for path in [
            "/ws/dm/",
            "/ws/events/",
            "/ws/conversations",
            "/ws/chat/a/b/",
            "/ws/nope/x/",
            "/ws/notifications/x",
        ] {
            assert_eq!(route("GET", path), Err(RouteError::NotFound), "{path}");
        }
    }

    #[test]
    fn malformed_ids_are_bad_ids() {
        for path in [
            "/ws/chat/a%20b/",
            "/ws/events/<x>/",
            "/ws/a%20b/",
            "/api/conversations/a b/messages",
        ] {
            assert!(
                matches!(route("GET", path), Err(RouteError::BadId(_))),
                "{path}"
            );
        }
        let long = format!("/ws/chat/{}/", "x".repeat(129));
        assert!(matches!(route("GET", &long), Err(RouteError::BadId(_))));
    }

    #[test]
    fn api_routes_by_method() {
        use ApiRoute::*;
        let cases = [
            ("POST", "/api/notifications", PublishNotifications),
            ("POST", "/api/orgs/o/events", PublishOrgEvent(id("o"))),
            (
                "POST",
                "/api/conversations/c/messages",
                PostMessage(id("c")),
            ),
            (
                "GET",
                "/api/conversations/c/messages",
                ListMessages(id("c")),
            ),
            (
                "PUT",
                "/api/conversations/c/members/u",
                PutMember(id("c"), id("u")),
            ),
            (
                "DELETE",
                "/api/conversations/c/members/u",
                DeleteMember(id("c"), id("u")),
            ),
            ("GET", "/api/conversations/c/members", ListMembers(id("c"))),
            (
                "PUT",
                "/api/orgs/o/members/u",
                PutOrgMember(id("o"), id("u")),
            ),
            (
                "DELETE",
                "/api/orgs/o/members/u",
                DeleteOrgMember(id("o"), id("u")),
            ),
            (
                "GET",
                "/api/users/u/notifications",
                ListNotifications(id("u")),
            ),
            (
                "GET",
                "/api/conversations/c/presence",
                ConversationPresence(id("c")),
            ),
            ("GET", "/api/orgs/o/presence", OrgPresence(id("o"))),
            ("GET", "/api/webhooks/failed", ListFailedWebhooks),
            (
                "POST",
                "/api/webhooks/failed/msg_1/retry",
                RetryWebhook(id("msg_1")),
            ),
            ("GET", "/api/push/vapid-public-key", PushPublicKey),
            ("POST", "/api/push/subscriptions", PushSubscriptions(None)),
            ("GET", "/api/push/subscriptions", PushSubscriptions(None)),
            (
                "GET",
                "/api/users/u/push-subscriptions",
                PushSubscriptions(Some(id("u"))),
            ),
            (
                "POST",
                "/api/users/u/push-subscriptions",
                PushSubscriptions(Some(id("u"))),
            ),
            (
                "DELETE",
                "/api/push/subscriptions/",
                PushSubscriptions(None),
            ),
            (
                "DELETE",
                "/api/users/u/push-subscriptions",
                PushSubscriptions(Some(id("u"))),
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(route(method, path), Ok(Route::Api(want)), "{method} {path}");
        }
    }

    #[test]
    fn wrong_methods_are_refused() {
        for (method, path) in [
            ("GET", "/api/notifications"),
            ("PATCH", "/api/conversations/c/messages"),
            ("POST", "/api/conversations/c/members/u"),
            ("POST", "/api/orgs/o/presence"),
        ] {
            assert_eq!(
                route(method, path),
                Err(RouteError::MethodNotAllowed),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn socket_paths_are_the_ws_tree() {
        assert!(is_socket_path("/ws/chat/a b/"));
        assert!(is_socket_path("/ws/"));
        assert!(is_socket_path("/ws"), "the session, without its slash");
        assert!(!is_socket_path("/wsx"));
        assert!(!is_socket_path("/api/conversations/a b/messages"));
    }

    #[test]
    fn other_paths() {
        assert_eq!(route("GET", "/healthz"), Ok(Route::Health));
        assert_eq!(route("GET", "/dev/token"), Ok(Route::DevToken));
        assert_eq!(route("GET", "/api/nothing"), Err(RouteError::NotFound));
        assert_eq!(route("GET", "/favicon.ico"), Err(RouteError::NotFound));
    }

    #[test]
    fn api_streams_and_user_readable_routes() {
        let list = ApiRoute::ListMessages(id("c"));
        assert!(list.user_readable());
        assert_eq!(list.stream(), Some(StreamKey::Conversation(id("c"))));
        assert!(!ApiRoute::PostMessage(id("c")).user_readable());
        assert_eq!(ApiRoute::PublishNotifications.stream(), None);
    }
}
