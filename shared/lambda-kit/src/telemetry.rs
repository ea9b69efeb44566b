//! Structured JSON logs on stdout (CloudWatch reads them as-is). Level from `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL`, else `info`.
//!
//! That level applies to this workspace's crates ([`OWN_CRATES`]) only. Every other crate is
//! capped, whatever the level says: its events at [`FOREIGN_EVENT_MAX`] (WARN), its spans at
//! [`FOREIGN_SPAN_MAX`] (INFO). Below WARN the libraries print what they carry: `lambda_runtime`
//! logs each raw event at TRACE (the path secret, `X-VTEX-API-AppToken` and `Authorization`
//! headers, placement bodies with customer data), the AWS SDK (`aws_smithy_runtime`) logs request
//! and response bodies at TRACE (the `GetSecretValue` answer, every order item), and hyper, h2,
//! reqwest and rustls log headers and frames at DEBUG/TRACE. Their INFO spans stay (the runtime's
//! `Lambda runtime invoke` span gives every line its `requestId`); a span's fields are ids, not
//! bodies. The cap is a filter of its own, applied after the level's, so no `RUST_LOG` directive
//! (`hyper=trace`, `[span]=trace`, a module path) can lift it.
//!
//! Each line is one JSON object: `timestamp`, `level`, `fields` (the message and the event's
//! fields), `span` (the current span: for a request, the correlation ids of
//! [`crate::correlation`]) and `spans` (the whole span stack). Metrics are not logged through
//! here: see [`crate::metrics`].

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The crates of this workspace, as tracing targets name them (the crate name with `_`: a target
/// is a module path), libraries and binaries. Only these follow the configured level. A crate
/// missing here is only quieter (its events capped at WARN), never louder; the test
/// `every_workspace_crate_follows_the_configured_level` fails when a member is missing.
pub const OWN_CRATES: &[&str] = &[
    "domain",
    "vtex",
    "aws_adapters",
    "embedded_store",
    "storage_format",
    "lambda_kit",
    "vtex_standin",
    "local",
    "connector_local",
    "simulation",
    "order_placement",
    "fulfillment",
    "dispatch",
    "dispatch_redrive",
    "order_import",
    "order_import_file",
    "mse",
    "catalog_sync",
    "catalog_load",
    "console_backfill",
    "marketplaces",
    "reservation_sweeper",
    "reconciler",
    "outbox_relay",
    "connector_tests",
    "connector_tools",
    "seller_check",
    "console_ui",
    "console",
];

/// The most verbose event any other crate may print.
pub const FOREIGN_EVENT_MAX: Level = Level::WARN;
/// The most verbose span any other crate may open.
pub const FOREIGN_SPAN_MAX: Level = Level::INFO;

/// Whether `target` (a module path) belongs to one of [`OWN_CRATES`].
pub fn is_own_target(target: &str) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    OWN_CRATES.contains(&root)
}

/// Whether the cap lets `meta` through (the configured level decides the rest).
pub fn within_cap(meta: &Metadata<'_>) -> bool {
    if is_own_target(meta.target()) {
        return true;
    }
    let max = if meta.is_span() {
        FOREIGN_SPAN_MAX
    } else {
        FOREIGN_EVENT_MAX
    };
    // tracing orders levels by verbosity: TRACE > DEBUG > INFO > WARN > ERROR.
    *meta.level() <= max
}

fn cap() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    filter_fn(within_cap as fn(&Metadata<'_>) -> bool)
}

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
        .with(cap())
}

/// Human-readable logs for the local runner.
pub fn init_pretty() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    // Colour only for a terminal: a log piped to a file (the test harness, `> runner.log`) was
    // full of escape codes, and writing them was a sixth of each request span's cost.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .finish()
        .with(cap())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// What the libraries print below WARN, each from the target it really uses.
    fn library_chatter() {
        tracing::trace!(
            target: "lambda_runtime::layers::api_response",
            body = "{\"rawPath\":\"/s3cret-seg/pvt/orders\"}",
            "raw JSON event received from Lambda"
        );
        tracing::trace!(
            target: "aws_smithy_runtime::client::orchestrator::http",
            response = "{\"SecretString\":\"sm-s3cret\"}",
            "read HTTP response body"
        );
        tracing::debug!(target: "hyper::proto::h1::io", "x-vtex-api-apptoken: hdr-s3cret");
        tracing::debug!(target: "reqwest::connect", "starting new connection: hdr-s3cret");
        tracing::info!(target: "aws_config::profile", "loaded sm-s3cret");
        tracing::debug!(target: "h2::codec", "frame hdr-s3cret");
    }

    #[test]
    fn libraries_print_no_event_below_warn_whatever_the_configured_level() {
        for filter in [
            "trace",
            "TRACE",
            "lambda_kit=trace,lambda_runtime=trace,aws_smithy_runtime=trace,hyper=trace,reqwest=trace,h2=trace",
            "lambda_kit=trace,hyper::proto=trace,aws_smithy_runtime::client::orchestrator::http=trace",
            "[request]=trace,trace",
        ] {
            let buf = Buf::default();
            let writer = buf.clone();
            let subscriber = json_subscriber(filter, move || writer.clone());
            tracing::subscriber::with_default(subscriber, || {
                tracing::error_span!("request").in_scope(library_chatter);
                tracing::trace!("our own trace line");
                tracing::warn!(target: "hyper::proto::h1::conn", "a library warning");
            });
            let text = buf.text();
            for secret in ["s3cret-seg", "sm-s3cret", "hdr-s3cret"] {
                assert!(
                    !text.contains(secret),
                    "{filter}: {secret} printed:\n{text}"
                );
            }
            assert!(text.contains("our own trace line"), "{filter}:\n{text}");
            assert!(text.contains("a library warning"), "{filter}:\n{text}");
        }
    }

    #[test]
    fn our_crates_follow_the_configured_level() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = json_subscriber("warn", move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "domain::import", "an info line");
            tracing::warn!(target: "domain::import", "a warn line");
        });
        let text = buf.text();
        assert!(!text.contains("an info line"), "{text}");
        assert!(text.contains("a warn line"), "{text}");
    }

    #[test]
    fn library_spans_up_to_info_stay_and_deeper_ones_go() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = json_subscriber("trace", move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let invoke = tracing::info_span!(
                target: "lambda_runtime::layers::trace",
                "Lambda runtime invoke",
                requestId = "req-1"
            );
            let attempt =
                tracing::debug_span!(target: "aws_smithy_runtime", "try_attempt", body = "b0dy");
            invoke.in_scope(|| attempt.in_scope(|| tracing::warn!("inside")));
        });
        let text = buf.text();
        assert!(text.contains("req-1"), "{text}");
        assert!(
            !text.contains("try_attempt") && !text.contains("b0dy"),
            "{text}"
        );
    }

    /// `[package]` and `[[bin]]` names of a manifest, as tracing targets spell them.
    fn crate_names(manifest: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut section = String::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
            } else if (section == "[package]" || section == "[[bin]]" || section == "[lib]")
                && let Some(v) = line.strip_prefix("name")
                && let Some(v) = v.trim().strip_prefix('=')
            {
                out.push(v.trim().trim_matches('"').replace('-', "_"));
            }
        }
        out
    }

    #[test]
    fn every_workspace_crate_follows_the_configured_level() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let list = workspace
            .split_once("members")
            .and_then(|(_, s)| s.split_once('['))
            .and_then(|(_, s)| s.split_once(']'))
            .unwrap()
            .0;
        let members: Vec<&str> = list
            .split(',')
            .map(|m| m.trim().trim_matches('"'))
            .filter(|m| !m.is_empty())
            .collect();
        assert!(members.len() > 5, "{members:?}");
        let mut missing = Vec::new();
        for member in members {
            let manifest = std::fs::read_to_string(root.join(member).join("Cargo.toml"))
                .unwrap_or_else(|e| panic!("{member}: {e}"));
            for name in crate_names(&manifest) {
                if !is_own_target(&name) {
                    missing.push(format!("{member}: {name}"));
                }
            }
        }
        assert!(missing.is_empty(), "add to OWN_CRATES: {missing:?}");
    }
}
