//! The local stand-in for SQS as the ERP sees it:
//! - `POST /_local/queues/{name}` sends the body as one message (`x-message-group-id` and
//!   `x-message-deduplication-id` headers as on a FIFO queue);
//! - `GET /_local/queues/{name}` receives and deletes up to `max` (default 10) messages, as an ERP
//!   consumer would, and returns them as a JSON array;
//! - `GET /_local/queues/{name}/dlq` does the same on the dead-letter queue;
//! - `POST /_local/queues/{name}/redrive` moves the dead-letter queue back to the source.

use crate::App;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/_local/queues/{name}", post(send).get(consume))
        .route("/_local/queues/{name}/dlq", get(consume_dlq))
        .route("/_local/queues/{name}/redrive", post(redrive))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({"error": {"code": "LOCAL", "message": message.into(), "exception": null}});
    (status, Json(body)).into_response()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

async fn send(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !valid_name(&name) {
        return error(StatusCode::BAD_REQUEST, "invalid queue name");
    }
    if serde_json::from_str::<Value>(&body).is_err() {
        return error(StatusCode::BAD_REQUEST, "message body must be JSON");
    }
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let queue = crate::workers::queue(&app, &name);
    match queue
        .send(
            &body,
            h("x-message-group-id"),
            h("x-message-deduplication-id"),
        )
        .await
    {
        Ok(id) => (StatusCode::OK, Json(json!({ "messageId": id }))).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn drain(queue: embedded_store::LocalQueue, max: usize) -> Response {
    let max = max.clamp(1, 100);
    let mut out = Vec::new();
    // A receive skips groups with a message in flight; keep receiving until `max` or empty.
    while out.len() < max {
        let msgs = match queue
            .receive(max - out.len(), Duration::from_secs(30))
            .await
        {
            Ok(m) => m,
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        };
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            if let Err(e) = queue.delete(&m.receipt_handle).await {
                return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            }
            let body = serde_json::from_str::<Value>(&m.body).unwrap_or(Value::String(m.body));
            out.push(json!({ "messageId": m.message_id, "groupId": m.group_id, "body": body }));
        }
    }
    Json(Value::Array(out)).into_response()
}

fn max_param(q: &HashMap<String, String>) -> usize {
    q.get("max").and_then(|m| m.parse().ok()).unwrap_or(10)
}

async fn consume(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !valid_name(&name) {
        return error(StatusCode::BAD_REQUEST, "invalid queue name");
    }
    drain(crate::workers::queue(&app, &name), max_param(&q)).await
}

async fn consume_dlq(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !valid_name(&name) {
        return error(StatusCode::BAD_REQUEST, "invalid queue name");
    }
    drain(crate::workers::queue(&app, &name).dlq(), max_param(&q)).await
}

async fn redrive(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    if !valid_name(&name) {
        return error(StatusCode::BAD_REQUEST, "invalid queue name");
    }
    match crate::workers::queue(&app, &name).redrive().await {
        Ok(n) => Json(json!({ "moved": n })).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
