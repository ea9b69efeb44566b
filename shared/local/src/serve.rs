//! The runner's HTTP/1.1 server: hyper's connection builder on each accepted socket, as the
//! benchmark's bare reference server (`functions/simulation/examples/reference_server.rs`) does.
//!
//! A request whose path is a protocol route ([`Route::match_path`]) goes straight to the runner's
//! protocol dispatch; everything else (the local queues, the console, unknown paths) to the axum
//! [`Router`], as a tower service, exactly as `axum::serve` handed it every request before.
//! No router path is a protocol route (test `no_router_path_is_a_protocol_route`), so each request
//! reaches the code it reached through the router's fallback.
//!
//! Every accepted socket gets `TCP_NODELAY`: answers are written whole, so Nagle's algorithm
//! only delays their last segment behind the client's delayed ACK (tens of ms on a keep-alive
//! connection). On `shutdown` the listener closes, each connection finishes the request it is
//! serving and closes, and [`run`] returns once every connection has.

use crate::App;
use axum::Router;
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_kit::Route;
use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// A protocol answer, or the router's.
type Answer = http::Response<Either<Full<Bytes>, axum::body::Body>>;

/// Serves `listener` until `shutdown` completes, then drains the open connections.
pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    // `stop` tells the connections to finish; each holds a `done` receiver until it has.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let (app, router) = (app.clone(), router.clone());
        let service = service_fn(move |req| answer(app.clone(), router.clone(), req));
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut conn = pin!(http1::Builder::new().serve_connection(TokioIo::new(tcp), service));
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::trace!("failed to serve connection: {e:#}");
            }
            drop(done);
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(done_rx);
    done_tx.closed().await;
}

async fn answer(
    app: Arc<App>,
    router: Router,
    req: http::Request<Incoming>,
) -> Result<Answer, Infallible> {
    Ok(match Route::match_path(req.uri().path()) {
        Some(route) => crate::protocol(&app, Some(route), req)
            .await
            .map(Either::Left),
        None => match router.oneshot(req.map(axum::body::Body::new)).await {
            Ok(resp) => resp.map(Either::Right),
            Err(never) => match never {},
        },
    })
}

/// What `axum::serve` does with a failed accept: a connection that failed before we took it is
/// nothing to wait for; anything else (out of file descriptors…) is logged and retried in a
/// second, rather than spinning.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_router_path_is_a_protocol_route() {
        // Every route of `queues::router()` and `console_ui::router()`, with the ids VTEX's
        // paths end in where a parameter is.
        for name in ["x", "pvt", "orders", "simulation", "invoice", "fulfill"] {
            for path in [
                format!("/_local/queues/{name}"),
                format!("/_local/queues/{name}/dlq"),
                format!("/_local/queues/{name}/redrive"),
                format!("/console/orders/{name}"),
                format!("/console/parked/{name}/redrive"),
            ] {
                assert_eq!(Route::match_path(&path), None, "{path}");
            }
        }
        for path in [
            "/console",
            "/console/",
            "/console/orders",
            "/console/parked",
            "/console/catalog",
            "/console/assets/console.css",
        ] {
            assert_eq!(Route::match_path(path), None, "{path}");
        }
    }
}
