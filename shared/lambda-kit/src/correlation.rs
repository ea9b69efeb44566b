//! Correlation ids on every log line of a request (shared/docs/protocol.md §Conventions, "Headers
//! VTEX sends").
//!
//! Each HTTP handler runs inside [`request_span`]. [`crate::telemetry::init`] prints the current
//! span with every JSON line, so each line of a request carries:
//! - `function`: which handler;
//! - `operation_id`: VTEX's `x-vtex-operation-id` (what VTEX support asks for), `-` when absent;
//! - `traceparent`: the W3C trace context VTEX sends, `-` when absent;
//! - `order_id` / `marketplace_order_id`: recorded with [`record_order_id`] /
//!   [`record_marketplace_order_id`] as soon as the handler knows them (absent before).
//!
//! In CloudWatch Logs Insights: `filter span.operation_id = "…"` or
//! `filter span.marketplace_order_id = "…"` lists one request or one order across functions.
//!
//! Only ids go into the span: never a path (it may hold the secret segment), a body or a header
//! other than these two.

use crate::error::ApiError;
use crate::http_util::header;
use lambda_http::{Body, Request, Response};
use tracing::field::Empty;
use tracing::{Instrument, Span};

pub const OPERATION_ID_HEADER: &str = "x-vtex-operation-id";
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Longest id kept: a traceparent is 55 characters and an operation id a UUID; anything longer
/// is not what VTEX sends and would only bloat every line.
const MAX_ID_LEN: usize = 128;

/// The correlation ids of one inbound request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correlation {
    pub operation_id: Option<String>,
    pub traceparent: Option<String>,
}

/// The one definition of the request span, for [`Correlation::span`] and [`request_span`].
/// ERROR level so the span is enabled whatever the log level: with `RUST_LOG=warn`, an INFO span
/// would be filtered out and the warnings would lose their correlation. The id expressions are
/// evaluated only when the span is enabled (`tracing`'s macros evaluate field values inside
/// their enabled check).
macro_rules! correlation_span {
    ($function:expr, $operation_id:expr, $traceparent:expr) => {
        tracing::error_span!(
            "request",
            function = $function,
            operation_id = $operation_id,
            traceparent = $traceparent,
            order_id = Empty,
            marketplace_order_id = Empty,
        )
    };
}

impl Correlation {
    pub fn from_request(req: &Request) -> Self {
        Correlation {
            operation_id: header_id(req, OPERATION_ID_HEADER).map(str::to_string),
            traceparent: header_id(req, TRACEPARENT_HEADER).map(str::to_string),
        }
    }

    /// The span for one unit of work of `function` (an HTTP request here; a queue message for the
    /// SQS functions, which build the [`Correlation`] from the message).
    pub fn span(&self, function: &'static str) -> Span {
        correlation_span!(
            function,
            self.operation_id.as_deref().unwrap_or("-"),
            self.traceparent.as_deref().unwrap_or("-")
        )
    }
}

/// The span to run one HTTP request of `function` in: `handle(...).instrument(request_span(..))`.
/// The same span as `Correlation::from_request(req).span(function)`, without copying the ids;
/// when no subscriber would record it (its level or target filtered out, or no subscriber at
/// all), the headers are not even read.
pub fn request_span(function: &'static str, req: &Request) -> Span {
    correlation_span!(
        function,
        header_id(req, OPERATION_ID_HEADER).unwrap_or("-"),
        header_id(req, TRACEPARENT_HEADER).unwrap_or("-")
    )
}

/// One HTTP request of `function` in its [`request_span`]: an error of `respond` becomes VTEX's
/// envelope ([`ApiError::into_response`]), `metrics` sees the answer, and the last line is
/// [`log_handled`].
pub async fn serve(
    function: &'static str,
    req: &Request,
    respond: impl Future<Output = Result<Response<Body>, ApiError>>,
    metrics: impl FnOnce(&Response<Body>),
) -> Response<Body> {
    let started = std::time::Instant::now();
    async {
        let response = respond.await.unwrap_or_else(ApiError::into_response);
        metrics(&response);
        log_handled(response.status(), started);
        response
    }
    .instrument(request_span(function, req))
    .await
}

/// Our order id, once known, on every following line of the current request.
pub fn record_order_id(order_id: &str) {
    Span::current().record("order_id", order_id);
}

/// The marketplace order id, once known, on every following line of the current request.
pub fn record_marketplace_order_id(marketplace_order_id: &str) {
    Span::current().record("marketplace_order_id", marketplace_order_id);
}

/// The last line of a request: its status and time, with every id recorded by then (so each
/// request has at least one line carrying them all).
pub fn log_handled(status: http::StatusCode, started: std::time::Instant) {
    tracing::info!(
        status = status.as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request handled"
    );
}

/// Both ids of an order found or created by the request.
pub fn record_order(order_id: &str, marketplace_order_id: &str) {
    record_order_id(order_id);
    record_marketplace_order_id(marketplace_order_id);
}

/// The header `name`, trimmed and bounded; blank is absent. `header` already refused
/// non-visible-ASCII values, so cutting at a byte index is cutting at a character.
fn header_id<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    let v = header(req, name)?.trim();
    (!v.is_empty()).then(|| &v[..v.len().min(MAX_ID_LEN)])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing::Instrument;

    fn req(headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::builder().uri("/pvt/orders");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(lambda_http::Body::Empty).unwrap()
    }

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

    fn lines(buf: &Buf) -> Vec<serde_json::Value> {
        String::from_utf8(buf.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Counts this thread's allocations, so a test can tell whether a call did any work that
    /// allocates (other tests run on other threads).
    struct CountingAlloc;

    thread_local! {
        static ALLOCATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    // SAFETY: every call is forwarded to the system allocator unchanged; the counter is a
    // const-initialized thread-local without destructor, which allocates nothing itself.
    unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
            unsafe { std::alloc::System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static COUNTING: CountingAlloc = CountingAlloc;

    /// `f`'s result and how many allocations it made on this thread.
    pub(crate) fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = ALLOCATIONS.with(|n| n.get());
        let out = f();
        (out, ALLOCATIONS.with(|n| n.get()) - before)
    }

    #[test]
    fn a_request_span_nothing_records_reads_and_copies_nothing() {
        let r = req(&[
            ("x-vtex-operation-id", "op-42"),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        ]);
        let sink = Buf::default();
        let subscriber = crate::telemetry::json_subscriber("off", move || sink.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        let (span, allocations) = allocations_in(|| request_span("simulation", &r));
        assert!(span.is_disabled());
        // `Correlation::from_request(&r).span(..)` copies both ids first, enabled or not.
        assert_eq!(allocations, 0);
        let (_, allocations) = allocations_in(|| Correlation::from_request(&r).span("simulation"));
        assert_eq!(allocations, 2, "the owned ids this test compares with");
    }

    #[tokio::test]
    async fn request_span_and_correlation_span_print_the_same_line() {
        let r = req(&[("x-vtex-operation-id", " op-7 "), ("traceparent", "tp-1")]);
        let mut printed = Vec::new();
        for by_correlation in [false, true] {
            let buf = Buf::default();
            let writer = buf.clone();
            let subscriber = crate::telemetry::json_subscriber("warn", move || writer.clone());
            let _guard = tracing::subscriber::set_default(subscriber);
            let span = if by_correlation {
                Correlation::from_request(&r).span("simulation")
            } else {
                request_span("simulation", &r)
            };
            async { tracing::warn!("inside") }.instrument(span).await;
            let mut line = lines(&buf).remove(0);
            line.as_object_mut().unwrap().remove("timestamp");
            printed.push(line);
        }
        assert_eq!(printed[0], printed[1]);
        assert_eq!(printed[0]["span"]["operation_id"], "op-7");
        assert_eq!(printed[0]["span"]["traceparent"], "tp-1");
    }

    #[test]
    fn reads_both_headers_trimmed_and_bounded() {
        let long = "x".repeat(500);
        let c = Correlation::from_request(&req(&[
            ("X-VTEX-Operation-Id", " op-1 "),
            ("traceparent", &long),
        ]));
        assert_eq!(c.operation_id.as_deref(), Some("op-1"));
        assert_eq!(c.traceparent.map(|t| t.len()), Some(MAX_ID_LEN));
        assert_eq!(Correlation::from_request(&req(&[])), Correlation::default());
        assert_eq!(
            Correlation::from_request(&req(&[("x-vtex-operation-id", "  ")])).operation_id,
            None
        );
    }

    #[tokio::test]
    async fn every_line_carries_the_ids_recorded_so_far() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = crate::telemetry::json_subscriber("warn", move || writer.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        let r = req(&[
            ("x-vtex-operation-id", "op-42"),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        ]);
        async {
            tracing::warn!("before the body is read");
            record_marketplace_order_id("MKP-1");
            record_order_id("SLR-1");
            tracing::error!("after");
        }
        .instrument(request_span("order_placement", &r))
        .await;

        let out = lines(&buf);
        assert_eq!(out.len(), 2, "{out:?}");
        for line in &out {
            assert_eq!(line["span"]["operation_id"], "op-42");
            assert_eq!(line["span"]["function"], "order_placement");
            assert_eq!(
                line["span"]["traceparent"],
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            );
        }
        assert!(out[0]["span"].get("order_id").is_none());
        assert_eq!(out[1]["span"]["order_id"], "SLR-1");
        assert_eq!(out[1]["span"]["marketplace_order_id"], "MKP-1");
    }
}
