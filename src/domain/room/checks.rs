//! Validation of what clients put in room frames: content, references, emoji.

use super::emoji::is_emoji;
use super::{MAX_EMOJI_CHARS, MAX_REF_CHARS};
use crate::domain::config::Settings;
use crate::domain::errors::FrameError;

pub(super) fn check_content(content: &str, settings: &Settings) -> Result<String, FrameError> {
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err(FrameError::invalid("content must not be empty"));
    }
    if content.chars().count() > settings.max_content_chars {
        return Err(FrameError::invalid(format!(
            "content is longer than {} characters",
            settings.max_content_chars
        )));
    }
    Ok(content.to_string())
}

pub(super) fn check_ref(field: &str, value: &str) -> Result<(), FrameError> {
    if value.is_empty() || value.chars().count() > MAX_REF_CHARS {
        return Err(FrameError::invalid(format!(
            "{field} must be 1-{MAX_REF_CHARS} characters"
        )));
    }
    Ok(())
}

/// A reaction emoji: real emoji sequences (see [`is_emoji`]) or a `:shortcode:`.
pub(super) fn check_emoji(emoji: &str) -> Result<String, FrameError> {
    let shortcode = emoji.len() > 2
        && emoji.starts_with(':')
        && emoji.ends_with(':')
        && emoji[1..emoji.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+' || c == '-');
    if emoji.chars().count() > MAX_EMOJI_CHARS || !(shortcode || is_emoji(emoji)) {
        return Err(FrameError::invalid(
            "emoji must be an emoji or a :shortcode:",
        ));
    }
    Ok(emoji.to_string())
}
