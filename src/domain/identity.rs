//! Who a verified user is: the user id, the optional profile claims carried into events,
//! and the orgs the token grants. This is what the Worker hands to an object.
//!
//! Profile strings are capped so that an identity always fits a socket attachment
//! (the runtime keeps attachments small; 2 KiB is the budget here).

use serde::{Deserialize, Serialize};

/// Longest profile string kept (longer values are cut at a character boundary).
pub const MAX_PROFILE_CHARS: usize = 200;
/// Most org ids taken from an `orgs` claim.
pub const MAX_ORGS: usize = 64;

/// The optional profile claims of SPEC §2, in the order events show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

impl Profile {
    fn capped(self) -> Self {
        let cap = |s: Option<String>| s.map(|s| s.chars().take(MAX_PROFILE_CHARS).collect());
        Profile {
            name: cap(self.name),
            username: cap(self.username),
            email: cap(self.email),
            first_name: cap(self.first_name),
            last_name: cap(self.last_name),
            avatar: cap(self.avatar),
        }
    }
}

/// A verified user, as forwarded from the Worker to an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    #[serde(rename = "sub")]
    pub user_id: String,
    #[serde(default)]
    pub profile: Profile,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<String>,
    /// Token expiry, Unix seconds.
    pub exp: i64,
}

impl Identity {
    pub fn new(user_id: String, profile: Profile, mut orgs: Vec<String>, exp: i64) -> Self {
        orgs.truncate(MAX_ORGS);
        Identity {
            user_id,
            profile: profile.capped(),
            orgs,
            exp,
        }
    }

    /// The name shown next to this user: name, else username, else the id.
    pub fn display_name(&self) -> &str {
        self.profile
            .name
            .as_deref()
            .or(self.profile.username.as_deref())
            .unwrap_or(&self.user_id)
    }

    /// The username shown in `user_status` frames: username, else the id.
    pub fn username(&self) -> &str {
        self.profile.username.as_deref().unwrap_or(&self.user_id)
    }

    /// True once the token has expired (with the auth leeway) at `now_ms`.
    pub fn expired_at(&self, now_ms: i64) -> bool {
        now_ms / 1000 > self.exp + super::auth::LEEWAY_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_strings_are_capped_and_names_fall_back() {
        let long = "é".repeat(500);
        let who = Identity::new(
            "u1".into(),
            Profile {
                name: Some(long),
                ..Profile::default()
            },
            (0..100).map(|i| i.to_string()).collect(),
            0,
        );
        assert_eq!(
            who.profile.name.as_ref().unwrap().chars().count(),
            MAX_PROFILE_CHARS
        );
        assert_eq!(who.orgs.len(), MAX_ORGS);
        let bare = Identity::new("u2".into(), Profile::default(), vec![], 0);
        assert_eq!(bare.display_name(), "u2");
        assert_eq!(bare.username(), "u2");
    }

    #[test]
    fn worst_case_identity_fits_an_attachment() {
        let s = || Some("x".repeat(MAX_PROFILE_CHARS));
        let profile = Profile {
            name: s(),
            username: s(),
            email: s(),
            first_name: s(),
            last_name: s(),
            avatar: s(),
        };
        let who = Identity::new("u".repeat(128), profile, vec![], i64::MAX);
        // The socket attachment also holds the orgs only on org hubs, where they are dropped.
        assert!(serde_json::to_vec(&who).unwrap().len() < 1_600);
    }

    #[test]
    fn expiry_allows_the_leeway() {
        let who = Identity::new("u".into(), Profile::default(), vec![], 1_000);
        assert!(!who.expired_at(1_059_000));
        assert!(who.expired_at(1_061_000));
    }
}
