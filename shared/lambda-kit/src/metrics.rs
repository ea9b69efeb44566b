//! Business metrics in CloudWatch's embedded metric format (EMF): one JSON line on stdout per
//! call, which CloudWatch Logs turns into metrics without any API call, IAM permission or
//! latency on the request path.
//!
//! ```no_run
//! use lambda_kit::metrics::{self, Unit};
//! // Namespace from `METRICS_NAMESPACE` (default `VtexSellerConnector`), dimension `Function`:
//! metrics::emit_for("dispatch", &[("InvoicesSent", 1.0, Unit::Count)]);
//! // Or everything explicit:
//! metrics::emit("Connector", &[("Function", "simulation")], &[("SimulationLatency", 12.0, Unit::Milliseconds)]);
//! ```
//!
//! Rules for callers (the SQS functions use this too):
//! - one call per unit of work (request, message, batch), with every metric of that unit: a
//!   count of `0` is worth sending, so sums and alarms see the quiet periods;
//! - dimensions are low-cardinality labels (`Function`, never an order id: each distinct value
//!   is a new billed metric); ids belong in the logs;
//! - metric names are `PascalCase` and never equal to a dimension name;
//! - nothing here goes through `tracing`: CloudWatch only reads EMF from a raw JSON line, not
//!   from inside a log message. Tests capture the lines with [`set_output`].
//!
//! Lines go to stdout inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` set, as it is under
//! `sam local` too) or when `METRICS_STDOUT=1`; elsewhere (the local runner, `cargo test`) there
//! is no CloudWatch to read them and they are dropped unless a test set an output.
//!
//! An EMF line has no `level`, so Lambda's log-level filtering (the template's `LogFormat: JSON` +
//! `ApplicationLogLevel`) files it as INFO: with the level at WARN or ERROR, the metrics are
//! dropped with the INFO logs. Keep `ApplicationLogLevel` at INFO (or DEBUG) where metrics matter.
//!
//! Metrics the connector emits (namespace `METRICS_NAMESPACE`, dimension `Function`):
//!
//! | Function | Metric | Unit | Meaning |
//! |---|---|---|---|
//! | simulation | `SimulationLatency` | Milliseconds | handling time of every simulation call |
//! | simulation | `SimulationItems` | Count | cart lines quoted |
//! | simulation | `SimulationUnavailableItems` | Count | lines answered unavailable |
//! | simulation | `SimulationDegraded` | Count | 1 when the store failed and every item was answered unavailable |
//! | simulation | `SimulationRejected` | Count | 1 for a 4xx (bad request, auth) |
//! | order-placement | `OrdersPlaced` | Count | new reservations |
//! | order-placement | `PlacementRetries` | Count | placements answered with an existing order |
//! | order-placement | `PlacementsRefused` | Count | business refusals (unknown SKU, out of stock, outdated) |
//! | fulfillment | `OrdersFulfilled`, `FulfillRetries`, `FulfillsRefused` | Count | fulfill outcomes (refused: 404/409) |
//! | fulfillment | `OrdersCanceled`, `CancelRetries`, `CancelsEvaluating`, `CancelsRefused` | Count | marketplace cancel outcomes (refused: invoiced/shipped, 404, 409) |
//! | every HTTP function | `AuthFailures` | Count | requests refused with 401 |
//! | catalog-sync | `StockCountsStale` | Count | `stock.changed` counts ignored: older than the last one applied or than a shipment since |
//! | catalog-sync | `StockCountsUnordered` | Count | `stock.changed` counts without `asOf`, applied in arrival order |
//! | reconciler | `ReconcileChecked`, `ReconcileDrifted`, `ReconcileHealed`, `ReconcileUnhealed`, `ReconcileThrottled`, `ReconcileErrors`, `ReconcileSkipped`, `ReconcileStoppedEarly` | Count | one line per run (`functions/reconciler`); `ReconcileUnhealed` > 0 raises the drift alarm |

use serde_json::{Map, Value, json};
use std::io::Write;
use std::sync::{OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "VtexSellerConnector";

/// CloudWatch's metric units (the ones this project uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
    Bytes,
    Percent,
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::Bytes => "Bytes",
            Unit::Percent => "Percent",
            Unit::None => "None",
        }
    }
}

type Sink = Box<dyn Fn(&str) + Send + Sync>;

static OUTPUT: RwLock<Option<Sink>> = RwLock::new(None);

/// Sends every following EMF line to `sink` instead of stdout (tests).
pub fn set_output(sink: impl Fn(&str) + Send + Sync + 'static) {
    *OUTPUT.write().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(sink));
}

/// Back to stdout.
pub fn reset_output() {
    *OUTPUT.write().unwrap_or_else(|e| e.into_inner()) = None;
}

fn write_line(line: &str) {
    let output = OUTPUT.read().unwrap_or_else(|e| e.into_inner());
    match output.as_ref() {
        Some(sink) => sink(line),
        None if to_stdout() => {
            // One locked write per line, so a log line never lands in the middle of it. A
            // failed write to stdout is not worth failing a request over.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
        None => {}
    }
}

/// Whether a line written now goes anywhere (a test's sink, or stdout).
fn has_output() -> bool {
    OUTPUT.read().unwrap_or_else(|e| e.into_inner()).is_some() || to_stdout()
}

fn to_stdout() -> bool {
    static TO_STDOUT: OnceLock<bool> = OnceLock::new();
    *TO_STDOUT.get_or_init(|| {
        crate::config::var("AWS_LAMBDA_FUNCTION_NAME").is_some()
            || crate::config::var("METRICS_STDOUT")
                .is_some_and(|v| matches!(v.as_str(), "1" | "true"))
    })
}

/// `METRICS_NAMESPACE`, else [`DEFAULT_NAMESPACE`].
pub fn namespace() -> String {
    crate::config::var("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

/// One EMF line in [`namespace`] with the dimension `Function = function`.
pub fn emit_for(function: &str, metrics: &[(&str, f64, Unit)]) {
    if !has_output() {
        return;
    }
    emit(&namespace(), &[("Function", function)], metrics);
}

/// One [`emit_for`] line for a call with one outcome among `names`: `outcome` is 1, the others 0,
/// so each metric's sum and sample count stay comparable.
pub fn emit_outcome(function: &str, names: &[&str], outcome: &str) {
    if !has_output() {
        return;
    }
    let metrics: Vec<(&str, f64, Unit)> = names
        .iter()
        .map(|n| (*n, if *n == outcome { 1.0 } else { 0.0 }, Unit::Count))
        .collect();
    emit_for(function, &metrics);
}

/// One EMF line: `metrics` (name, value, unit) under `namespace`, with `dimensions` (name, value)
/// as a single dimension set.
pub fn emit(namespace: &str, dimensions: &[(&str, &str)], metrics: &[(&str, f64, Unit)]) {
    // The local runner has no reader: rendering a line per request only to drop it was a
    // measurable share of a small simulation there.
    if !has_output() {
        return;
    }
    if let Some(line) = render(namespace, dimensions, metrics, now_ms()) {
        write_line(&line);
    }
}

/// The EMF line, or `None` when no metric is left to send. Non-finite values (JSON has no NaN)
/// and metrics whose name collides with a dimension or `_aws` are dropped: CloudWatch would
/// reject the whole line.
pub fn render(
    namespace: &str,
    dimensions: &[(&str, &str)],
    metrics: &[(&str, f64, Unit)],
    timestamp_ms: u64,
) -> Option<String> {
    let mut root = Map::new();
    for (name, value) in dimensions {
        root.insert((*name).to_string(), Value::String((*value).to_string()));
    }
    let mut definitions = Vec::new();
    for (name, value, unit) in metrics {
        if !value.is_finite() || *name == "_aws" || root.contains_key(*name) {
            continue;
        }
        let Some(number) = serde_json::Number::from_f64(*value) else {
            continue;
        };
        root.insert((*name).to_string(), Value::Number(number));
        definitions.push(json!({ "Name": name, "Unit": unit.as_str() }));
    }
    if definitions.is_empty() {
        return None;
    }
    let dimension_names: Vec<&str> = dimensions.iter().map(|(n, _)| *n).collect();
    root.insert(
        "_aws".to_string(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimension_names],
                "Metrics": definitions,
            }],
        }),
    );
    Some(Value::Object(root).to_string())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn renders_the_emf_shape_cloudwatch_expects() {
        let line = render(
            "Connector",
            &[("Function", "simulation")],
            &[
                ("SimulationLatency", 12.5, Unit::Milliseconds),
                ("SimulationItems", 3.0, Unit::Count),
            ],
            1_700_000_000_123,
        )
        .unwrap();
        assert!(!line.contains('\n'), "one line: {line}");
        let v = parse(&line);
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_123u64);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Connector");
        assert_eq!(cw["Dimensions"], json!([["Function"]]));
        assert_eq!(
            cw["Metrics"],
            json!([
                {"Name": "SimulationLatency", "Unit": "Milliseconds"},
                {"Name": "SimulationItems", "Unit": "Count"}
            ])
        );
        assert_eq!(v["Function"], "simulation");
        assert_eq!(v["SimulationLatency"], 12.5);
        assert_eq!(v["SimulationItems"], 3.0);
        assert_eq!(v["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn drops_values_cloudwatch_would_reject() {
        let line = render(
            "N",
            &[("Function", "f")],
            &[
                ("Nan", f64::NAN, Unit::Count),
                ("Inf", f64::INFINITY, Unit::Count),
                ("Function", 1.0, Unit::Count),
                ("_aws", 1.0, Unit::Count),
                ("Ok", 0.0, Unit::Count),
            ],
            1,
        )
        .unwrap();
        let v = parse(&line);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Ok", "Unit": "Count"}])
        );
        assert_eq!(v["Function"], "f");
        assert!(v.get("Nan").is_none() && v.get("Inf").is_none());
        assert_eq!(render("N", &[], &[("X", f64::NAN, Unit::Count)], 1), None);
    }

    #[test]
    fn no_dimensions_is_one_empty_dimension_set() {
        let v = parse(&render("N", &[], &[("X", 1.0, Unit::Count)], 1).unwrap());
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    }

    /// The tests that set or rely on the process-wide output, one at a time.
    static OUTPUT_TESTS: Mutex<()> = Mutex::new(());

    #[test]
    fn nothing_is_built_for_a_line_no_output_takes() {
        let _one = OUTPUT_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        if to_stdout() {
            return; // METRICS_STDOUT or a Lambda name in the environment: there is an output
        }
        let (_, allocations) = crate::correlation::tests::allocations_in(|| {
            emit_outcome(
                "fulfillment",
                &["OrdersFulfilled", "FulfillRetries"],
                "FulfillRetries",
            );
            emit_for("simulation", &[("SimulationItems", 2.0, Unit::Count)]);
        });
        assert_eq!(allocations, 0);
    }

    #[test]
    fn emit_writes_one_line_to_the_output_with_the_current_time() {
        let _one = OUTPUT_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        set_output(move |l| sink.lock().unwrap().push(l.to_string()));
        let before = now_ms();
        emit_for("order-placement", &[("OrdersPlaced", 1.0, Unit::Count)]);
        reset_output();
        let lines = lines.lock().unwrap();
        let mine: Vec<Value> = lines
            .iter()
            .map(|l| parse(l))
            .filter(|v| v["Function"] == "order-placement")
            .collect();
        assert_eq!(mine.len(), 1);
        let v = &mine[0];
        assert_eq!(v["OrdersPlaced"], 1.0);
        assert!(v["_aws"]["Timestamp"].as_u64().unwrap() >= before);
        assert!(
            v["_aws"]["CloudWatchMetrics"][0]["Namespace"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        );
    }
}
