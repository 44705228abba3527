//! `OrgHub`: one per organization, plus `_online` for app-wide presence.

use worker::*;

use crate::domain::config::Settings;
use crate::domain::errors::Close;
use crate::domain::ids::ONLINE_ORG;
use crate::domain::protocol::{Established, ServerFrame};
use crate::platform::config;
use crate::platform::socket::{self, now_ms, Connect};

#[durable_object]
pub struct OrgHub {
    state: State,
    settings: Settings,
}

impl DurableObject for OrgHub {
    fn new(state: State, env: Env) -> Self {
        socket::set_auto_pong(&state);
        OrgHub {
            settings: config::settings(&env),
            state,
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let Some(conn) = Connect::from_request(&req)? else {
            return Response::error("not found", 404);
        };
        let open_to_all = conn.stream_id == ONLINE_ORG;
        if !open_to_all && !conn.who.orgs.contains(&conn.stream_id) {
            return conn.refuse(Close::Forbidden);
        }
        let (ws, resp) = socket::accept(&self.state, &conn, &self.settings, now_ms())?;
        let established = Established {
            user_id: conn.who.user_id.clone(),
            user_name: conn.who.display_name().to_string(),
            org_id: Some(conn.stream_id.clone()),
            online: Some(Vec::new()),
            ..Default::default()
        };
        socket::send(&ws, &ServerFrame::ConnectionEstablished(established));
        Ok(resp)
    }

    async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
        if let Some((_att, incoming)) = socket::screen(&ws, msg, &self.settings, now_ms()) {
            socket::not_here(&ws, incoming);
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        _ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: Error) -> Result<()> {
        Ok(())
    }
}
