//! The error vocabulary of each boundary, mapped in one place:
//! [`ErrorCode`] for `error` frames, [`Close`] for socket close codes, and [`ApiError`]
//! for HTTP responses. Messages are written for clients; internals never reach them.

use serde::Serialize;

/// A JSON decoding error as clients see it: serde's words (which name the field and the
/// problem) without the parser position.
pub fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    text.split(" at line ").next().unwrap_or(&text).to_string()
}

/// `code` of an `error` frame (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    UnknownType,
    InvalidRequest,
    Forbidden,
    NotFound,
    RateLimited,
    /// Storage failed; the event was not stored and may be retried.
    Unavailable,
}

/// An error answered on a socket without closing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

impl FrameError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
}

/// Why a socket is closed: the close code a client can read, and a short reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// Missing, invalid or expired token.
    Unauthorized,
    /// Authenticated, but not allowed on this stream.
    Forbidden,
    /// Malformed id in the path.
    BadRequest,
    /// More than `MAX_SOCKETS_PER_USER` sockets of one user on one stream.
    TooManySockets,
    /// Frame larger than `MAX_FRAME_BYTES`.
    TooBig,
    /// Kept flooding after `rate_limited` errors.
    Flooding,
    /// Server-initiated close because the stream no longer exists or is shutting down.
    Going,
}

impl Close {
    pub fn code(self) -> u16 {
        match self {
            Close::Unauthorized => 4001,
            Close::Forbidden => 4003,
            Close::BadRequest => 4400,
            Close::TooManySockets => 4429,
            Close::TooBig => 1009,
            Close::Flooding => 1008,
            Close::Going => 1001,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Close::Unauthorized => "unauthorized",
            Close::Forbidden => "forbidden",
            Close::BadRequest => "bad request",
            Close::TooManySockets => "too many connections",
            Close::TooBig => "frame too large",
            Close::Flooding => "rate limit exceeded",
            Close::Going => "going away",
        }
    }
}

/// An HTTP API error: `{"error":{"code","message"}}` with the fitting status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unprocessable(String),
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("this endpoint needs a WebSocket upgrade")]
    UpgradeRequired,
    #[error("temporarily unavailable, retry")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) | ApiError::OriginNotAllowed => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Unprocessable(_) => 422,
            ApiError::UpgradeRequired => 426,
            ApiError::Unavailable => 503,
            ApiError::Internal => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::UpgradeRequired => "upgrade_required",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    /// The response body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code(), "message": self.to_string()}})
    }
}

impl From<FrameError> for ApiError {
    fn from(e: FrameError) -> Self {
        match e.code {
            ErrorCode::Forbidden => ApiError::Forbidden(e.message),
            ErrorCode::NotFound => ApiError::NotFound(e.message),
            ErrorCode::Unavailable => ApiError::Unavailable,
            ErrorCode::InvalidJson => ApiError::BadRequest(e.message),
            _ => ApiError::Unprocessable(e.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_have_the_contract_shape_and_status() {
        let e = ApiError::Conflict("Idempotency-Key reused with another body".into());
        assert_eq!(e.status(), 409);
        assert_eq!(
            e.body().to_string(),
            r#"{"error":{"code":"conflict","message":"Idempotency-Key reused with another body"}}"#
        );
        assert_eq!(ApiError::UnsupportedMediaType.status(), 415);
        assert_eq!(ApiError::Unauthorized.status(), 401);
        assert_eq!(ApiError::UpgradeRequired.status(), 426);
    }

    #[test]
    fn close_codes_follow_the_contract() {
        assert_eq!(Close::Unauthorized.code(), 4001);
        assert_eq!(Close::Forbidden.code(), 4003);
        assert_eq!(Close::BadRequest.code(), 4400);
        assert_eq!(Close::TooBig.code(), 1009);
        assert_eq!(Close::Flooding.code(), 1008);
    }

    #[test]
    fn frame_errors_map_to_http() {
        assert_eq!(ApiError::from(FrameError::forbidden("x")).status(), 403);
        assert_eq!(ApiError::from(FrameError::not_found("x")).status(), 404);
        assert_eq!(ApiError::from(FrameError::invalid("x")).status(), 422);
    }
}
