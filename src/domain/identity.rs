//! Who a verified user is: the user id, the optional profile claims carried into events,
//! and the orgs the token grants. This is what the Worker hands to an object.
//!
//! Reading them from a token's claims follows SPEC §8: the user id is the first present
//! claim of `JWT_USER_ID_CLAIM` (string or integer), the orgs come from `JWT_ORGS_CLAIM`,
//! and absent profile claims fall back to their OIDC names.
//!
//! Profile strings are capped in bytes so that an identity always fits a socket attachment
//! (the runtime keeps attachments small; 2 KiB is the budget here).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::auth::AuthError;
use super::decode::Fields;
use super::errors::FrameError;
use super::ids::Id;

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
    /// The profile fields of an object (the message API's `sender`), each a string or
    /// absent; other fields are ignored.
    pub fn read(f: &Fields) -> Result<Self, FrameError> {
        Ok(Profile {
            name: f.opt_string("name")?,
            username: f.opt_string("username")?,
            email: f.opt_string("email")?,
            first_name: f.opt_string("first_name")?,
            last_name: f.opt_string("last_name")?,
            avatar: f.opt_string("avatar")?,
        })
    }

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

impl Profile {
    /// The profile claims of a token: ours first, else the OIDC standard names
    /// (`preferred_username`, `given_name`, `family_name`, `picture`); `name` falls back
    /// to "given_name family_name", then to the username. Empty strings count as absent.
    pub fn from_claims(claims: &Map<String, Value>) -> Self {
        let text = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(String::from)
        };
        let either = |ours: &str, oidc: &str| text(ours).or_else(|| text(oidc));
        let username = either("username", "preferred_username");
        let full_name = match (text("given_name"), text("family_name")) {
            (Some(given), Some(family)) => Some(format!("{given} {family}")),
            (given, family) => given.or(family),
        };
        Profile {
            name: text("name").or(full_name).or_else(|| username.clone()),
            username,
            email: text("email"),
            first_name: either("first_name", "given_name"),
            last_name: either("last_name", "family_name"),
            avatar: either("avatar", "picture"),
        }
    }
}

/// Which claims name the user and their orgs: `JWT_USER_ID_CLAIM` (tried in order) and
/// `JWT_ORGS_CLAIM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    pub user_id: Vec<String>,
    pub orgs: String,
}

impl Default for ClaimNames {
    /// `sub,user_id` (OIDC, then Django REST Framework SimpleJWT) and `orgs`.
    fn default() -> Self {
        ClaimNames {
            user_id: vec!["sub".into(), "user_id".into()],
            orgs: "orgs".into(),
        }
    }
}

impl ClaimNames {
    /// The user id: the first configured claim that is present (not null) decides; its
    /// value must be a string or an integer that is a valid id.
    pub fn user_id(&self, claims: &Map<String, Value>) -> Result<Id, AuthError> {
        let value = self
            .user_id
            .iter()
            .find_map(|k| claims.get(k).filter(|v| !v.is_null()))
            .ok_or(AuthError::MissingUserId)?;
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => return Err(AuthError::Subject),
        };
        Id::parse(&text).map_err(|_| AuthError::Subject)
    }

    /// The org ids of the orgs claim (an array of strings or integers); entries that are
    /// not valid ids are dropped.
    pub fn orgs(&self, claims: &Map<String, Value>) -> Vec<String> {
        let Some(list) = claims.get(&self.orgs).and_then(Value::as_array) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| Id::parse(s).is_ok())
            .collect()
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
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().expect("a JSON object").clone()
    }

    #[test]
    fn oidc_profile_claims_fill_in_for_absent_ones() {
        let p = Profile::from_claims(&map(json!({
            "preferred_username": "jdoe", "given_name": "Jane", "family_name": "Doe",
            "picture": "https://img.example/j.png", "email": "j@x.io"
        })));
        assert_eq!(p.username.as_deref(), Some("jdoe"));
        assert_eq!(p.first_name.as_deref(), Some("Jane"));
        assert_eq!(p.last_name.as_deref(), Some("Doe"));
        assert_eq!(p.avatar.as_deref(), Some("https://img.example/j.png"));
        assert_eq!(
            p.name.as_deref(),
            Some("Jane Doe"),
            "given_name family_name"
        );
        assert_eq!(p.email.as_deref(), Some("j@x.io"));
    }

    #[test]
    fn our_profile_claims_win_over_oidc_ones() {
        let p = Profile::from_claims(&map(json!({
            "name": "Ann L.", "username": "ann", "preferred_username": "oidc-ann",
            "first_name": "Ann", "given_name": "Anna", "last_name": "Lee",
            "family_name": "Li", "avatar": "a.png", "picture": "p.png"
        })));
        let got = [&p.name, &p.username, &p.first_name, &p.last_name, &p.avatar]
            .map(|f| f.as_deref().unwrap_or_default());
        assert_eq!(got, ["Ann L.", "ann", "Ann", "Lee", "a.png"]);
    }

    #[test]
    fn name_falls_back_to_one_oidc_name_then_the_username() {
        let only_given = Profile::from_claims(&map(json!({"given_name": "Jane"})));
        assert_eq!(only_given.name.as_deref(), Some("Jane"));
        let only_user = Profile::from_claims(&map(json!({"preferred_username": "jdoe"})));
        assert_eq!(only_user.name.as_deref(), Some("jdoe"));
        let blank = Profile::from_claims(&map(json!({"name": " ", "username": "ann"})));
        assert_eq!(
            blank.name.as_deref(),
            Some("ann"),
            "an empty name is absent"
        );
        assert_eq!(Profile::from_claims(&map(json!({}))), Profile::default());
    }

    #[test]
    fn user_id_claims_are_tried_in_order() {
        let names = ClaimNames::default();
        let simplejwt = map(json!({"token_type": "access", "user_id": 42, "jti": "x"}));
        assert_eq!(names.user_id(&simplejwt).unwrap().as_str(), "42");
        let both = map(json!({"sub": "oidc-1", "user_id": 42}));
        assert_eq!(
            names.user_id(&both).unwrap().as_str(),
            "oidc-1",
            "sub first"
        );
        let null_sub = map(json!({"sub": null, "user_id": "u7"}));
        assert_eq!(names.user_id(&null_sub).unwrap().as_str(), "u7");
        let custom = ClaimNames {
            user_id: vec!["uid".into()],
            ..ClaimNames::default()
        };
        assert_eq!(custom.user_id(&both), Err(AuthError::MissingUserId));
        let uid = map(json!({"sub": "ignored", "uid": "u-9"}));
        assert_eq!(custom.user_id(&uid).unwrap().as_str(), "u-9");
    }

    #[test]
    fn user_id_must_be_a_string_or_an_integer_that_is_an_id() {
        let names = ClaimNames::default();
        assert_eq!(
            names.user_id(&map(json!({}))),
            Err(AuthError::MissingUserId)
        );
        for bad in [
            json!(1.5),
            json!(true),
            json!(["a"]),
            json!("a b"),
            json!(""),
        ] {
            let claims = map(json!({ "sub": bad }));
            assert_eq!(names.user_id(&claims), Err(AuthError::Subject), "{bad}");
        }
        let negative = map(json!({"user_id": -3}));
        assert_eq!(names.user_id(&negative).unwrap().as_str(), "-3");
    }

    #[test]
    fn orgs_come_from_the_configured_claim() {
        let claims = map(json!({"orgs": ["a"], "groups": ["acme", 7, 1.5, "bad id", null]}));
        assert_eq!(ClaimNames::default().orgs(&claims), vec!["a".to_string()]);
        let groups = ClaimNames {
            orgs: "groups".into(),
            ..ClaimNames::default()
        };
        assert_eq!(groups.orgs(&claims), vec!["acme".to_string(), "7".into()]);
        assert!(groups.orgs(&map(json!({"groups": "acme"}))).is_empty());
    }

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
