//! Turns an axum request into the `lambda_http::Request` the function handlers take, and their
//! response back, so the local runner exercises exactly the code Lambda runs.

use axum::body::Body as AxumBody;
use bytes::Bytes;
use lambda_http::Body as LambdaBody;

/// Largest body the local runner accepts before the handlers' own limits apply.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

pub async fn to_lambda(
    req: axum::extract::Request,
) -> Result<lambda_http::Request, axum::response::Response> {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        lambda_kit::ApiError::PayloadTooLarge { limit: MAX_BODY }
            .into_response()
            .map(|b| AxumBody::from(body_bytes(b)))
    })?;
    let body = if bytes.is_empty() {
        LambdaBody::Empty
    } else {
        // Reuses the buffer when the body arrived as one chunk nobody else holds.
        match String::from_utf8(Vec::from(bytes)) {
            Ok(text) => LambdaBody::Text(text),
            Err(e) => LambdaBody::Binary(e.into_bytes()),
        }
    };
    Ok(http::Request::from_parts(parts, body))
}

pub fn from_lambda(resp: lambda_http::Response<LambdaBody>) -> axum::response::Response {
    resp.map(|b| AxumBody::from(body_bytes(b)))
}

fn body_bytes(b: LambdaBody) -> Vec<u8> {
    match b {
        LambdaBody::Empty => Vec::new(),
        LambdaBody::Text(t) => t.into_bytes(),
        LambdaBody::Binary(v) => v,
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    }
}
