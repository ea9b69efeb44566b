//! The reference of tests/bench/simulation_vs_hyper.sh: a bare hyper 1.x HTTP/1.1 server that
//! reads each request's body and answers it with the same bytes every time (our own simulation
//! answer for that body, captured by the script), `200` with `content-type: application/json`.
//! What it costs is the physical limit of HTTP plus a body of that size on this machine.
//!
//! ```sh
//! cargo build --release -p simulation --example reference_server
//! target/release/examples/reference_server 127.0.0.1:9001 answer.json
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        return Err("usage: reference_server ADDR ANSWER_FILE".into());
    };
    let answer = Bytes::from(std::fs::read(&file)?);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let answer = answer.clone();
                async move {
                    // Read the body as a real server must before answering.
                    let _ = req.into_body().collect().await;
                    let resp = Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(answer))
                        .expect("static response");
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
