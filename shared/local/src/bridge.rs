//! Turns an HTTP request into the `lambda_http::Request` the function handlers take, and their
//! response back, so the local runner exercises exactly the code Lambda runs.
//!
//! The request keeps its method, URI, version, headers and extensions as they arrived; the
//! handlers read the query from the URI (`lambda_kit::query_param` falls back to it when no
//! API Gateway parameters are attached, and none are here). The body is read once, straight into
//! the buffer the handler owns (`lambda_http::Body` holds a `String` or a `Vec`, so that one copy
//! out of hyper's read buffer is the only one); the answer's `String` or `Vec` becomes the
//! response body as it is (`Bytes::from` takes the allocation over).

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use lambda_http::Body as LambdaBody;

/// Largest body the local runner accepts before the handlers' own limits apply.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// The request as a handler takes it; a body longer than [`MAX_BODY`], or one that cannot be
/// read to its end, is answered `413` here.
pub async fn to_lambda<B>(
    req: http::Request<B>,
) -> Result<lambda_http::Request, http::Response<Full<Bytes>>>
where
    B: Body + Unpin,
{
    let (parts, body) = req.into_parts();
    let bytes = read_body(body).await.ok_or_else(|| {
        from_lambda(lambda_kit::ApiError::PayloadTooLarge { limit: MAX_BODY }.into_response())
    })?;
    let body = if bytes.is_empty() {
        LambdaBody::Empty
    } else {
        match String::from_utf8(bytes) {
            Ok(text) => LambdaBody::Text(text),
            Err(e) => LambdaBody::Binary(e.into_bytes()),
        }
    };
    Ok(http::Request::from_parts(parts, body))
}

/// Every data frame of `body`, in one buffer sized from its length when it announces one; `None`
/// past [`MAX_BODY`] or on a read error.
async fn read_body<B>(mut body: B) -> Option<Vec<u8>>
where
    B: Body + Unpin,
{
    let announced = usize::try_from(body.size_hint().lower()).unwrap_or(MAX_BODY);
    let mut out = Vec::with_capacity(announced.min(MAX_BODY));
    while let Some(frame) = body.frame().await {
        let Ok(mut data) = frame.ok()?.into_data() else {
            continue; // trailers
        };
        if out.len() + data.remaining() > MAX_BODY {
            return None;
        }
        // A `Buf` may hold its bytes in several chunks (hyper's are one).
        while data.has_remaining() {
            let chunk = data.chunk();
            let n = chunk.len();
            out.extend_from_slice(chunk);
            data.advance(n);
        }
    }
    Some(out)
}

/// A handler's response as hyper writes it, the body not copied.
pub fn from_lambda(resp: lambda_http::Response<LambdaBody>) -> http::Response<Full<Bytes>> {
    resp.map(|b| Full::new(body_bytes(b)))
}

fn body_bytes(b: LambdaBody) -> Bytes {
    match b {
        LambdaBody::Empty => Bytes::new(),
        LambdaBody::Text(t) => Bytes::from(t),
        LambdaBody::Binary(v) => Bytes::from(v),
        #[allow(unreachable_patterns)]
        _ => Bytes::new(),
    }
}
