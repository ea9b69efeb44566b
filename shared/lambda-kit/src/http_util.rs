//! Request/response helpers shared by the handlers.

use crate::error::ApiError;
use http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    // Serializing our own DTOs cannot fail (no maps with non-string keys); fall back to an opaque 500.
    let (status, text) = match serde_json::to_string(body) {
        Ok(t) => (status, t),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":{"code":"SRV500","message":"Internal error","exception":null}}"#
                .to_string(),
        ),
    };
    let mut resp = Response::new(Body::Text(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    resp
}

/// `public, max-age=N` for cacheable GET answers (plus `Vary`, so a CDN never serves a compressed
/// copy to a client that cannot read it); `no-store` for everything else, so neither a CDN nor
/// VTEX keeps a POST answer, an error or a degraded "unavailable".
pub fn cache_control(response: &mut Response<Body>, max_age: Option<u32>) {
    let headers = response.headers_mut();
    match max_age {
        Some(secs) => {
            if let Ok(v) = http::HeaderValue::from_str(&format!("public, max-age={secs}")) {
                headers.insert(http::header::CACHE_CONTROL, v);
            }
            headers.insert(
                http::header::VARY,
                http::HeaderValue::from_static("Accept-Encoding"),
            );
        }
        None => {
            headers.insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
        }
    }
}

/// The query parameter `name` unless it is blank, else `default` (a function's `DEFAULT_AN`,
/// `DEFAULT_SC`).
pub fn query_or(req: &Request, name: &str, default: &Option<String>) -> Option<String> {
    query_param(req, name)
        .filter(|v| !v.trim().is_empty())
        .or_else(|| default.clone())
}

/// `200` with an empty body (the "evaluate" / "refuse" answers of a marketplace cancel).
pub fn empty_ok() -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::OK;
    resp
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        // lambda_http may add body kinds; treat anything else as empty rather than panic.
        #[allow(unreachable_patterns)]
        _ => &[],
    }
}

/// Parses a JSON body with a size limit. Unknown fields are ignored by the DTOs; syntax and type
/// errors become a 400 that says where the problem is.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, ApiError> {
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("REQ001", "Request body is empty"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("REQ002", format!("Malformed JSON body: {e}")))
}

/// A query-string parameter, from API Gateway's parsed parameters or, failing that, the URI (so a
/// request built by the local runner or a test works the same).
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    let parsed = req.query_string_parameters_ref();
    if let Some(v) = parsed.and_then(|q| q.first(name)) {
        return Some(v.to_string());
    }
    req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
