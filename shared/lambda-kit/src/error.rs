//! Typed API errors and their one mapping to HTTP + VTEX's error envelope (shared/docs/protocol.md
//! §Conventions).

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

/// Everything a handler can answer that is not a success. 5xx bodies are opaque: the detail is
/// logged, never returned.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{code}: {message}")]
    BadRequest { code: &'static str, message: String },
    #[error("unauthorized")]
    Unauthorized,
    #[error("{code}: {message}")]
    NotFound { code: &'static str, message: String },
    #[error("{code}: {message}")]
    Conflict { code: &'static str, message: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{code}: {message}")]
    Unprocessable { code: &'static str, message: String },
    /// 403: the caller is authenticated but this stack does not serve what it asks for (an
    /// unregistered marketplace account, `MKP001`).
    #[error("{code}: {message}")]
    Forbidden { code: &'static str, message: String },
    #[error("internal: {0}")]
    Internal(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code_and_message(&self) -> (&'static str, String) {
        match self {
            ApiError::BadRequest { code, message }
            | ApiError::NotFound { code, message }
            | ApiError::Conflict { code, message }
            | ApiError::Unprocessable { code, message }
            | ApiError::Forbidden { code, message } => (code, message.clone()),
            ApiError::Unauthorized => ("AUTH001", "Missing or invalid credentials".into()),
            ApiError::MethodNotAllowed => ("HTTP405", "Method not allowed on this route".into()),
            ApiError::PayloadTooLarge { limit } => (
                "REQ413",
                format!("Request body is larger than the {limit}-byte limit"),
            ),
            ApiError::Internal(_) => ("SRV500", "Internal error".into()),
            ApiError::Unavailable(_) => ("SRV503", "Temporarily unavailable, retry later".into()),
        }
    }

    /// The HTTP response: VTEX's envelope `{"error": {"code", "message", "exception": null}}`.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        } else {
            tracing::info!(error = %self, status = status.as_u16(), "request refused");
        }
        let (code, message) = self.code_and_message();
        let body = json!({ "error": { "code": code, "message": message, "exception": null } });
        crate::http_util::json_response(status, &body)
    }
}

impl From<domain::ports::StoreError> for ApiError {
    fn from(e: domain::ports::StoreError) -> Self {
        match e {
            domain::ports::StoreError::Limit(m) => ApiError::bad_request("REQ400", m),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}
