//! Organization hubs: who may join, and org events. The event log is bounded
//! (`ORG_EVENT_RETENTION`); resuming beyond it asks the client to resync.

use serde::Deserialize;
use serde_json::Value;

use super::errors::FrameError;
use super::ids::ONLINE_ORG;
use super::protocol::ServerFrame;
use super::time::iso;

/// Largest event `data` JSON.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;

/// Body of `POST /api/orgs/{org}/events`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventIn {
    pub event_type: String,
    #[serde(default)]
    pub data: Value,
}

/// Access to an org's socket: the `_online` hub is open to everyone; other orgs need the
/// `orgs` claim or API membership.
pub fn may_join(org_id: &str, claim: bool, member: bool) -> bool {
    org_id == ONLINE_ORG || claim || member
}

/// Validates an event and builds its frame under `seq`.
pub fn event_frame(
    input: EventIn,
    id: String,
    seq: u64,
    now_ms: i64,
) -> Result<String, FrameError> {
    if input.event_type.is_empty() || input.event_type.chars().count() > 64 {
        return Err(FrameError::invalid("event_type must be 1-64 characters"));
    }
    if input.data.to_string().len() > MAX_EVENT_BYTES {
        return Err(FrameError::invalid(format!(
            "data is larger than {MAX_EVENT_BYTES} bytes"
        )));
    }
    Ok(ServerFrame::Event {
        seq,
        id,
        event_type: input.event_type,
        data: input.data,
        timestamp: iso(now_ms),
    }
    .to_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn access_by_claim_membership_or_online_hub() {
        assert!(may_join("_online", false, false));
        assert!(may_join("acme", true, false));
        assert!(may_join("acme", false, true));
        assert!(!may_join("acme", false, false));
    }

    #[test]
    fn event_frames_are_validated() {
        let ok = event_frame(
            EventIn {
                event_type: "deploy".into(),
                data: json!({"v": 1}),
            },
            "e1".into(),
            4,
            0,
        )
        .unwrap();
        assert!(ok.starts_with(
            r#"{"type":"event","seq":4,"id":"e1","event_type":"deploy","data":{"v":1},"timestamp":"#
        ));
        assert!(event_frame(
            EventIn {
                event_type: String::new(),
                data: Value::Null
            },
            "e".into(),
            1,
            0
        )
        .is_err());
        let big = EventIn {
            event_type: "x".into(),
            data: json!("y".repeat(MAX_EVENT_BYTES)),
        };
        assert!(event_frame(big, "e".into(), 1, 0).is_err());
    }
}
