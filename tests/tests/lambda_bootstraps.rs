//! `sam local invoke` without Docker: every real `bootstrap` binary (the bins `template.yaml` builds
//! with cargo-lambda) is started as Lambda starts it — a clean environment with Lambda's variables
//! and the function's own, as the template declares them — against a local Lambda Runtime API, and
//! fed every sample event of its function (`events/<binary>.<case>.json`) against moto (tables,
//! queues and secrets created from the template) and the VTEX stand-in.
//!
//! `tests/run.sh` builds the bins (`cargo build --bins`, the test profile) and points
//! `CONNECTOR_BOOTSTRAP_DIR` at them. Without it the tests say "skipped" (or fail, under
//! `CONNECTOR_TEST_REQUIRE_AWS=1`), so a stale binary is never what they run.
//!
//! Every event gets the checks of its kind (an HTTP answer is an API Gateway v2 response with a
//! JSON body and no 5xx; an SQS batch answer lists only messages of the batch); the cases in
//! [`EXPECTED`] also get their own status / body / failed-record expectations. A new sample file
//! (another helper adds multi-record batches and deployed-shape routes) is run with the checks of
//! its kind until it is given an entry; an entry whose file is gone fails.

use connector_tests::aws_env::moto;
use connector_tests::lambda_runtime_api::{Bootstrap, Init, Outcome};
use connector_tests::lambda_stack::{
    InboundSecret, Stack, bootstrap_dir, path_secret, sample_events, seed_catalog,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Guards against a hung process only; speed is the benchmark's business.
const LIMIT: Duration = Duration::from_secs(60);

/// The order id the sample fulfillment events carry; replaced by the one placement returned, so
/// fulfill / cancel / admin act on a real order.
const EVENT_ORDER_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";

#[derive(Debug)]
enum Expect {
    /// An HTTP answer with this status whose JSON body has these top-level keys (or, for an
    /// array, whose first element has them).
    Http(u16, &'static [&'static str]),
    /// A batch answer failing exactly these records (message ids).
    Batch(&'static [&'static str]),
    /// A non-HTTP, non-batch answer (the sweeper's summary) with these keys.
    Json(&'static [&'static str]),
}

/// Expectations by `<binary>.<case>`, in the order the cases run within a function. The stack
/// starts with the sample catalog (shared/sample/catalog.json) and nothing else; functions run in
/// template order (simulation, placement, fulfillment, sweeper, dispatch, catalog-sync, import,
/// mse), so fulfillment acts on the order placement created and the mse on the imported order.
const EXPECTED: &[(&str, Expect)] = &[
    // Simulation: sample SKUs priced and delivered; a broken body is VTEX's REQ002 envelope.
    (
        "simulation.post-checkout",
        Expect::Http(200, &["items", "logisticsInfo", "country", "postalCode"]),
    ),
    (
        "simulation.post-indexation",
        Expect::Http(200, &["items", "logisticsInfo"]),
    ),
    (
        "simulation.get-purchase-context",
        Expect::Http(200, &["items", "logisticsInfo"]),
    ),
    ("simulation.post-malformed", Expect::Http(400, &["error"])),
    // Placement: the array form reserves and answers one order per input; the object form (same
    // marketplace order) is a retry answering the same order; bad money and no stock are refusals.
    (
        "order-placement.array",
        Expect::Http(200, &["orderId", "marketplaceOrderId", "items"]),
    ),
    (
        "order-placement.object",
        Expect::Http(200, &["orderId", "marketplaceOrderId"]),
    ),
    ("order-placement.malformed", Expect::Http(400, &["error"])),
    (
        "order-placement.out-of-stock",
        Expect::Http(409, &["error"]),
    ),
    // Fulfillment of the placed order: authorize, look at it, cancel (policy confirm), cancel again
    // by marketplace id (idempotent receipt).
    (
        "fulfillment.fulfill",
        Expect::Http(200, &["orderId", "marketplaceOrderId", "receipt"]),
    ),
    (
        "fulfillment.admin-order",
        Expect::Http(200, &["orderId", "status", "marketplaceOrderId"]),
    ),
    (
        "fulfillment.cancel",
        Expect::Http(200, &["orderId", "marketplaceOrderId", "receipt"]),
    ),
    (
        "fulfillment.cancel-by-marketplace-id",
        Expect::Http(200, &["orderId", "marketplaceOrderId", "receipt"]),
    ),
    // Nothing has expired yet.
    (
        "reservation-sweeper.scheduled",
        Expect::Json(&["examined", "expired", "failed", "skipped"]),
    ),
    // The outbox relay: the stream sample names the placed order's events (fulfill and cancel wrote
    // them above), delivered to the ERP queue; the re-drive leaves them (younger than a minute).
    ("outbox-relay.stream", Expect::Batch(&[])),
    (
        "outbox-relay.scheduled",
        Expect::Json(&["delivered", "failed"]),
    ),
    // Dispatch: the samples name orders this stack never placed (account luxstore): each record
    // is parked in the DLQ as a rule break, none is returned for a retry.
    ("dispatch.invoice-output", Expect::Batch(&[])),
    ("dispatch.invoice-return", Expect::Batch(&[])),
    ("dispatch.tracking", Expect::Batch(&[])),
    ("dispatch.tracking-delivered", Expect::Batch(&[])),
    ("dispatch.seller-cancel", Expect::Batch(&[])),
    ("dispatch.batch-partial-failure", Expect::Batch(&[])),
    // Reconciliation: no order is open and older than the minimum age here (the placed one was
    // canceled above, and is minutes old): a run that reads nothing and answers its report.
    (
        "reconciler.scheduled",
        Expect::Json(&[
            "checked",
            "drifted",
            "healed",
            "unhealed",
            "throttled",
            "errors",
            "stop",
        ]),
    ),
    // Catalog sync: changes applied and notified; in the mixed batch the follow-up not yet due
    // comes back.
    ("catalog-sync.sku-upsert", Expect::Batch(&[])),
    ("catalog-sync.price-changed", Expect::Batch(&[])),
    ("catalog-sync.stock-changed", Expect::Batch(&[])),
    (
        "catalog-sync.batch-partial-failure",
        Expect::Batch(&["7a2c9e10-4b1d-4f6e-8c3a-000000000103"]),
    ),
    // Import: first the mixed batch, before any import: the invoice of an order not imported yet
    // comes back, the broken order is parked. Then the order is imported into the seller's
    // account, and its invoice and tracking are accepted onto the import (delivered after VTEX's
    // grace period by the import's own delayed wake-up, not by a retry of these records).
    (
        "order-import.batch-partial-failure",
        Expect::Batch(&["3b0e2a4c-1b2e-4c7a-9e61-000000000101"]),
    ),
    ("order-import.order", Expect::Batch(&[])),
    ("order-import.invoice", Expect::Batch(&[])),
    ("order-import.tracking", Expect::Batch(&[])),
    // The mse: VTEX's notification about the imported order, forwarded to the ERP.
    (
        "mse.invoice",
        Expect::Http(200, &["date", "orderId", "receipt"]),
    ),
    // The console (IAM identity in each sample's context): home redirects to the orders page,
    // the list renders, a re-drive without confirm asks first (the dispatch samples parked above).
    ("console.home", Expect::Http(308, &[])),
    ("console.orders", Expect::Http(200, &[])),
    ("console.redrive", Expect::Http(200, &[])),
];

fn is_http(event: &Value) -> bool {
    event.get("routeKey").is_some() || event.get("httpMethod").is_some()
}

fn is_batch(event: &Value) -> bool {
    event.get("Records").is_some()
}

/// The checks every event of its kind gets; returns the parsed body of an HTTP answer.
fn check_kind(event: &Value, outcome: &Outcome) -> Result<Value, String> {
    let Outcome::Response(r) = outcome else {
        return Err(format!("the function returned an error: {outcome:?}"));
    };
    if is_http(event) {
        let status = r
            .get("statusCode")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("not an API Gateway response: {r}"))?;
        if status >= 500 {
            return Err(format!("status {status}: {r}"));
        }
        let body = r.get("body").and_then(Value::as_str).unwrap_or("");
        if body.is_empty() {
            return Ok(Value::Null);
        }
        // The console answers pages: an HTML document, not JSON.
        if r["headers"]["content-type"]
            .as_str()
            .is_some_and(|t| t.starts_with("text/html"))
        {
            return if body.starts_with("<!DOCTYPE html>") {
                Ok(Value::Null)
            } else {
                Err(format!("not an HTML document: {body}"))
            };
        }
        return serde_json::from_str(body).map_err(|e| format!("body is not JSON ({e}): {body}"));
    }
    if is_batch(event) {
        let ids: BTreeSet<&str> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m.get("messageId")?.as_str())
            .collect();
        let failures = r
            .get("batchItemFailures")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("not a partial batch response: {r}"))?;
        for f in failures {
            let id = f
                .get("itemIdentifier")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !ids.contains(id) {
                return Err(format!("failure names a record not in the batch: {f}"));
            }
        }
    }
    Ok(r.clone())
}

fn check_expected(expect: &Expect, outcome: &Outcome, body: &Value) -> Result<(), String> {
    let Outcome::Response(r) = outcome else {
        unreachable!("check_kind passed")
    };
    let has_keys = |v: &Value, keys: &[&str]| -> Result<(), String> {
        let obj = match v {
            Value::Array(a) => a.first().unwrap_or(&Value::Null),
            other => other,
        };
        let missing: Vec<&&str> = keys.iter().filter(|k| obj.get(**k).is_none()).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("body lacks {missing:?}: {v}"))
        }
    };
    match expect {
        Expect::Http(status, keys) => {
            let got = r.get("statusCode").and_then(Value::as_u64).unwrap_or(0);
            if got != u64::from(*status) {
                return Err(format!("status {got}, expected {status}: {r}"));
            }
            has_keys(body, keys)
        }
        Expect::Batch(ids) => {
            let got: BTreeSet<&str> = r["batchItemFailures"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.get("itemIdentifier")?.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let want: BTreeSet<&str> = ids.iter().copied().collect();
            if got == want {
                Ok(())
            } else {
                Err(format!("failed records {got:?}, expected {want:?}"))
            }
        }
        Expect::Json(keys) => has_keys(r, keys),
    }
}

/// Known cases first (in [`EXPECTED`] order), then new ones by name.
fn run_order(binary: &str, events: &BTreeMap<String, Value>) -> Vec<String> {
    let prefix = format!("{binary}.");
    let mut cases: Vec<String> = EXPECTED
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k.starts_with(&prefix) && events.contains_key(k))
        .collect();
    for k in events.keys() {
        if k.starts_with(&prefix) && !cases.contains(k) {
            cases.push(k.clone());
        }
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bootstrap_answers_every_sample_event_of_its_function() {
    let Some(sdk) = moto().await else { return };
    let Some(bins) = bootstrap_dir() else { return };
    let events = sample_events();
    let secret = path_secret(&events);
    let stack = Stack::up(
        sdk,
        &InboundSecret {
            path_secret: secret,
            ..InboundSecret::default()
        },
    )
    .await;
    seed_catalog(&stack).await;
    let functions = stack.functions();

    // Every sample belongs to a function of the stack; every expectation to a sample.
    let binaries: BTreeSet<&str> = functions.iter().map(|f| f.binary.as_str()).collect();
    for stem in events.keys() {
        let prefix = stem.split('.').next().unwrap();
        assert!(
            binaries.contains(prefix),
            "events/{stem}.json: no function of template.yaml builds a bin named {prefix}"
        );
    }
    for (key, _) in EXPECTED {
        assert!(
            events.contains_key(*key),
            "EXPECTED names events/{key}.json, which is gone"
        );
    }

    let mut failures = Vec::new();
    let mut placed_order: Option<String> = None;
    for f in &functions {
        let cases = run_order(&f.binary, &events);
        assert!(
            !cases.is_empty(),
            "{} ({}) has no sample event in events/",
            f.logical_id,
            f.binary
        );
        let mut boot = Bootstrap::start(&stack.launch(f, &bins)).await;
        match boot.init(LIMIT).await {
            Init::Ready(_) => {}
            other => panic!(
                "{} did not start: {other:?}\noutput:\n{}",
                f.logical_id,
                boot.output()
            ),
        }
        for case in cases {
            let mut text = events[&case].to_string();
            if let Some(id) = &placed_order {
                text = text.replace(EVENT_ORDER_ID, id);
            }
            let event: Value = serde_json::from_str(&text).unwrap();
            let (outcome, _) = boot.invoke(&event, LIMIT).await;
            let result = check_kind(&event, &outcome).and_then(|body| {
                if let Some(order) = body
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(|o| o.get("orderId"))
                    .and_then(Value::as_str)
                    .filter(|_| f.binary == "order-placement" && placed_order.is_none())
                {
                    placed_order = Some(order.to_string());
                }
                match EXPECTED.iter().find(|(k, _)| *k == case) {
                    Some((_, expect)) => check_expected(expect, &outcome, &body),
                    None => Ok(()),
                }
            });
            eprintln!("{case}: {outcome:?}");
            if let Err(e) = result {
                failures.push(format!("{case}: {e}"));
            }
        }
        boot.stop().await;
    }
    assert!(
        failures.is_empty(),
        "{} sample event(s) answered wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Item 5 of issue 10: once deployed (`AWS_LAMBDA_FUNCTION_NAME` set, as Lambda always sets it), a
/// function that reads inbound auth refuses to start without a complete method, and says what is
/// missing: no `INBOUND_AUTH_SECRET_ARN` and no `INBOUND_*` values, or an app key without its
/// token. It must not serve VTEX's endpoint open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_function_without_inbound_auth_refuses_to_start_saying_what_is_missing() {
    let Some(sdk) = moto().await else { return };
    let Some(bins) = bootstrap_dir() else { return };
    let stack = Stack::up(
        sdk,
        &InboundSecret {
            path_secret: Some("unused".into()),
            ..InboundSecret::default()
        },
    )
    .await;
    let guarded: Vec<_> = stack
        .functions()
        .into_iter()
        .filter(|f| f.env.contains_key("INBOUND_AUTH_SECRET_ARN"))
        .collect();
    assert!(
        guarded.len() >= 4,
        "expected the HTTP functions to read INBOUND_AUTH_SECRET_ARN, found {:?}",
        guarded.iter().map(|f| &f.logical_id).collect::<Vec<_>>()
    );
    // (what is set, extra environment, what the init error must say)
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: [Case; 2] = [
        (
            "nothing configured",
            &[],
            "no inbound authentication is configured",
        ),
        (
            "an app key without its token",
            &[("INBOUND_APP_KEY", "vtexappkey-half")],
            "an app key is set without its app token",
        ),
    ];
    for f in &guarded {
        for (label, extra, says) in cases {
            let mut launch = stack.launch(f, &bins);
            launch.env.retain(|(k, _)| k != "INBOUND_AUTH_SECRET_ARN");
            launch
                .env
                .extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let mut boot = Bootstrap::start(&launch).await;
            let init = boot.init(LIMIT).await;
            let output = boot.output();
            let reported = match &init {
                Init::Failed(e) => e.body.to_string(),
                Init::Exited(status) => {
                    assert!(
                        !status.success(),
                        "{} ({label}) exited 0 instead of failing init",
                        f.logical_id
                    );
                    output.clone()
                }
                Init::Ready(_) => panic!(
                    "{} started with {label}: it would serve VTEX's endpoint open\n{output}",
                    f.logical_id
                ),
            };
            for text in [
                "refusing to start in Lambda",
                "INBOUND_AUTH_SECRET_ARN",
                says,
            ] {
                assert!(
                    reported.contains(text),
                    "{} ({label}): the init error does not say {text:?}: {reported}",
                    f.logical_id
                );
            }
            boot.stop().await;
        }
    }
}
