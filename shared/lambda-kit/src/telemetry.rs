//! Structured JSON logs on stdout (CloudWatch reads them as-is). Level from `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL`, else `info`.
//!
//! Each line is one JSON object: `timestamp`, `level`, `fields` (the message and the event's
//! fields), `span` (the current span: for a request, the correlation ids of
//! [`crate::correlation`]) and `spans` (the whole span stack). Metrics are not logged through
//! here: see [`crate::metrics`].

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok())
        .unwrap_or_else(|| "info".to_string());
    let _ = json_subscriber(&filter, std::io::stdout).try_init();
}

/// The production log format writing to `writer`: [`init`] uses it with stdout; tests use it
/// with a buffer to check what a request really logs.
pub fn json_subscriber<W>(filter: &str, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(filter.to_lowercase()))
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Human-readable logs for the local runner.
pub fn init_pretty() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_target(false)
        .try_init();
}
