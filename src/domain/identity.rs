//! Who a verified user is: the user id, the optional profile claims carried into events,
//! and the orgs the token grants. This is what the Worker hands to an object.
//!
//! Profile strings are capped in bytes so that an identity always fits a socket attachment
//! (the runtime keeps attachments small; 2 KiB is the budget here).

use serde::{Deserialize, Serialize};

/// Longest profile string kept, in UTF-8 bytes (longer values are cut at a character
/// boundary). Bytes, not characters: six fields of 4-byte emoji must fit as well as ASCII.
/// The runtime serializes a string holding any non-Latin-1 character as UTF-16, which
/// doubles its ASCII, so six fields of 128 bytes stay near 1.5 KB even then.
pub const MAX_PROFILE_BYTES: usize = 128;
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
        let cap = |s: Option<String>| s.map(cut);
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

/// `s` cut to at most [`MAX_PROFILE_BYTES`], never inside a character.
fn cut(mut s: String) -> String {
    if s.len() > MAX_PROFILE_BYTES {
        let end = (0..=MAX_PROFILE_BYTES)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(end);
    }
    s
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

    /// The first millisecond at which [`Identity::expired_at`] holds.
    pub fn expires_at_ms(&self) -> i64 {
        (self.exp + super::auth::LEEWAY_SECS + 1).saturating_mul(1000)
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
    fn expiry_instant_is_the_first_expired_millisecond() {
        let who = Identity::new("u".into(), Profile::default(), vec![], 1_000);
        let at = who.expires_at_ms();
        assert!(!who.expired_at(at - 1));
        assert!(who.expired_at(at));
    }

    fn with_every_field(s: &str) -> Profile {
        let f = || Some(s.to_string());
        Profile {
            name: f(),
            username: f(),
            email: f(),
            first_name: f(),
            last_name: f(),
            avatar: f(),
        }
    }

    fn fields(p: &Profile) -> [&str; 6] {
        [
            &p.name,
            &p.username,
            &p.email,
            &p.first_name,
            &p.last_name,
            &p.avatar,
        ]
        .map(|f| f.as_deref().unwrap_or_default())
    }

    #[test]
    fn profile_strings_are_capped_in_bytes_at_a_char_boundary() {
        // 42 CJK characters are 126 bytes: the 43rd would be cut in half, so it goes.
        for (unit, kept) in [("😀", 32), ("日", 42), ("é", 64), ("x", 128)] {
            let who = Identity::new("u1".into(), with_every_field(&unit.repeat(500)), vec![], 0);
            for f in fields(&who.profile) {
                assert_eq!(f, unit.repeat(kept), "{unit:?}");
                assert!(f.len() <= MAX_PROFILE_BYTES);
            }
        }
        let mixed = format!("{}日本", "a".repeat(MAX_PROFILE_BYTES - 4));
        let who = Identity::new("u1".into(), with_every_field(&mixed), vec![], 0);
        assert_eq!(who.profile.name.unwrap(), format!("{}日", "a".repeat(124)));
        let short = Identity::new("u1".into(), with_every_field("Zoë 🙂"), vec![], 0);
        assert_eq!(
            short.profile.avatar.as_deref(),
            Some("Zoë 🙂"),
            "short ones kept"
        );
    }

    #[test]
    fn orgs_are_capped_and_names_fall_back() {
        let orgs = (0..100).map(|i| i.to_string()).collect();
        let who = Identity::new("u1".into(), Profile::default(), orgs, 0);
        assert_eq!(who.orgs.len(), MAX_ORGS);
        let bare = Identity::new("u2".into(), Profile::default(), vec![], 0);
        assert_eq!(bare.display_name(), "u2");
        assert_eq!(bare.username(), "u2");
    }

    /// Bytes a string takes in the runtime's (V8) serialization: one byte per character
    /// when all are Latin-1, else two per UTF-16 unit.
    fn v8_bytes(s: &str) -> usize {
        if s.chars().all(|c| (c as u32) <= 0xFF) {
            s.chars().count()
        } else {
            2 * s.encode_utf16().count()
        }
    }

    #[test]
    fn worst_case_identity_fits_an_attachment() {
        // ASCII with one CJK character is the runtime's worst case (all UTF-16); emoji
        // and CJK are the worst cases in UTF-8.
        let worst = format!("日{}", "x".repeat(500));
        for filler in [worst.as_str(), &"😀".repeat(500), &"日".repeat(500)] {
            let who = Identity::new("u".repeat(128), with_every_field(filler), vec![], i64::MAX);
            let strings: usize = fields(&who.profile).iter().map(|f| v8_bytes(f)).sum();
            assert!(strings + 128 < 1_700, "{strings} bytes of profile");
            // The attachment also holds the rate bucket and a socket id (well under 200
            // bytes); the orgs are dropped from it.
            assert!(serde_json::to_vec(&who).unwrap().len() < 1_200);
        }
    }

    #[test]
    fn expiry_allows_the_leeway() {
        let who = Identity::new("u".into(), Profile::default(), vec![], 1_000);
        assert!(!who.expired_at(1_059_000));
        assert!(who.expired_at(1_061_000));
    }
}
