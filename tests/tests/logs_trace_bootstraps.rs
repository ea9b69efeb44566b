//! Issue 13, item 3: no secret and no customer data in any log line, at the most verbose level the
//! template allows. The stack of `template.yaml` is stood up against moto with `LogLevel=TRACE`
//! (so Lambda sets `AWS_LAMBDA_LOG_LEVEL=TRACE`, as a deployment would), and the real `bootstrap`
//! binaries run a whole flow under the local Lambda Runtime API: a simulation, a placement carrying
//! customer data, its fulfill and admin view, its invoice and tracking through dispatch, an import
//! whose `document` is a number (a refusal), a valid import with its invoice and tracking, VTEX's
//! mse notification about it, a catalog change and a sweep. Every inbound request presents the
//! path secret and the app key / token / `Authorization` headers, so the raw events
//! `lambda_runtime` sees carry every inbound secret; every function reads its secrets from
//! Secrets Manager, so the SDK's response bodies carry them too.
//!
//! Everything each process writes (stdout and stderr, every line) is searched for each secret and
//! each customer value: zero hits. The flow's answers are checked as well, so the search runs over
//! a flow that really happened.

use connector_tests::aws_env::moto;
use connector_tests::lambda_runtime_api::{Bootstrap, Init, Outcome};
use connector_tests::lambda_stack::{InboundSecret, Stack, bootstrap_dir, seed_catalog};
use serde_json::{Value, json};
use std::time::Duration;

/// Guards against a hung process only.
const LIMIT: Duration = Duration::from_secs(60);

/// Inbound secrets of the stack. The path secret is the one the HTTP samples carry.
const PATH_SECRET: &str = "s3cr3t-7Hq2";
const INBOUND_APP_KEY: &str = "vtexappkey-inbound-Q8w2";
const INBOUND_APP_TOKEN: &str = "INBOUND-APPTOKEN-k3J9x7";
/// An `Authorization` header VTEX does not send but a caller might: it must not be printed either.
const BEARER: &str = "bearer-T0ken-p5Zr1";

/// The sample fulfillment events' order id, replaced by the one placement returns.
const EVENT_ORDER_ID: &str = "SLR-7Q2M9K4D1X8B5N3R6T0V";
/// The marketplace order the dispatch samples invoice, under the account the stack's placement
/// uses (the samples name another account).
const SAMPLE_ACCOUNT: &str = "\\\"an\\\": \\\"luxstore\\\"";

fn event(name: &str) -> String {
    std::fs::read_to_string(
        connector_tests::lambda_stack::root().join(format!("events/{name}.json")),
    )
    .unwrap_or_else(|e| panic!("events/{name}.json: {e}"))
}

/// An HTTP sample with every inbound credential presented.
fn with_credentials(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap();
    let headers = v["headers"]
        .as_object_mut()
        .expect("an HTTP sample has headers");
    headers.insert("x-vtex-api-appkey".into(), INBOUND_APP_KEY.into());
    headers.insert("x-vtex-api-apptoken".into(), INBOUND_APP_TOKEN.into());
    headers.insert("authorization".into(), format!("Bearer {BEARER}").into());
    v
}

/// The sample import order with its `document` as a JSON number (VTEX payloads often carry it so)
/// under another marketplace order id: the import is refused and must not echo the number.
fn numeric_document_import() -> (Value, String) {
    let mut v: Value = serde_json::from_str(&event("order-import.order")).unwrap();
    let record = &mut v["Records"][0];
    let mut body: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    let document = body["order"]["clientProfileData"]["document"]
        .as_str()
        .unwrap()
        .to_string();
    body["order"]["clientProfileData"]["document"] = json!(document.parse::<u64>().unwrap());
    body["order"]["marketplaceOrderId"] = json!("2630580999");
    body["messageId"] = json!("ext-numeric-document");
    record["body"] = json!(body.to_string());
    record["messageId"] = json!("3b0e2a4c-1b2e-4c7a-9e61-00000000n0c1");
    (v, document)
}

/// Fields whose values are personal (`number`, `state`, `country` are too short to search for
/// without false positives, and not personal on their own).
const CUSTOMER_FIELDS: [&str; 13] = [
    "email",
    "firstName",
    "lastName",
    "document",
    "phone",
    "corporateName",
    "corporateDocument",
    "receiverName",
    "postalCode",
    "city",
    "street",
    "neighborhood",
    "reference",
];

/// Every customer value of an order (placement or import shape), with its field.
fn customer_values(order: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in [
        &order["clientProfileData"],
        &order["shippingData"]["address"],
    ] {
        for field in CUSTOMER_FIELDS {
            if let Some(v) = part[field].as_str().filter(|v| v.trim().len() >= 4) {
                out.push((field.to_string(), v.to_string()));
            }
        }
    }
    if let Some(text) = order["openTextField"].as_str() {
        out.push(("openTextField".into(), text.to_string()));
    }
    out
}

fn http_status(outcome: &Outcome) -> u64 {
    match outcome {
        Outcome::Response(r) => r["statusCode"].as_u64().unwrap_or(0),
        Outcome::Error { .. } => 0,
    }
}

fn failed_records(outcome: &Outcome) -> Vec<String> {
    match outcome {
        Outcome::Response(r) => r["batchItemFailures"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        Outcome::Error { .. } => vec!["<function error>".into()],
    }
}

/// One function of the stack, started at TRACE.
async fn start(stack: &Stack, bins: &std::path::Path, binary: &str) -> Bootstrap {
    let f = stack
        .functions()
        .into_iter()
        .find(|f| f.binary == binary)
        .unwrap_or_else(|| panic!("template.yaml builds no bin {binary}"));
    let launch = stack.launch(&f, bins);
    assert!(
        launch
            .env
            .iter()
            .any(|(k, v)| k == "AWS_LAMBDA_LOG_LEVEL" && v == "TRACE"),
        "{binary}: LogLevel=TRACE does not reach the function: {:?}",
        launch.env.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    let mut boot = Bootstrap::start(&launch).await;
    match boot.init(LIMIT).await {
        Init::Ready(_) => boot,
        other => panic!(
            "{binary} did not start: {other:?}\n{}",
            boot.settled_output().await
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_trace_no_bootstrap_prints_a_secret_or_a_customer_value() {
    let Some(sdk) = moto().await else { return };
    let Some(bins) = bootstrap_dir() else { return };
    let mut stack = Stack::up(
        sdk,
        &InboundSecret {
            path_secret: Some(PATH_SECRET.into()),
            app_key: Some(INBOUND_APP_KEY.into()),
            app_token: Some(INBOUND_APP_TOKEN.into()),
        },
    )
    .await;
    stack
        .bindings
        .params
        .insert("LogLevel".into(), "TRACE".into());
    seed_catalog(&stack).await;

    let placement_text = event("order-placement.array");
    let placement_event = with_credentials(&placement_text);
    let placement_body: Value =
        serde_json::from_str(placement_event["body"].as_str().unwrap()).unwrap();
    // VTEX placed these orders: the stand-in knows them, so the invoice and tracking go through.
    stack.vtex.state().place(&placement_body).unwrap();
    let import_event: Value = serde_json::from_str(&event("order-import.order")).unwrap();
    let import_body: Value =
        serde_json::from_str(import_event["Records"][0]["body"].as_str().unwrap()).unwrap();
    let (numeric_import, numeric_document) = numeric_document_import();

    let mut searched: Vec<(String, String)> = vec![
        ("inbound path secret".into(), PATH_SECRET.into()),
        ("inbound app key".into(), INBOUND_APP_KEY.into()),
        ("inbound app token".into(), INBOUND_APP_TOKEN.into()),
        ("Authorization header".into(), BEARER.into()),
        ("VTEX app key".into(), vtex_standin::DEFAULT_APP_KEY.into()),
        (
            "VTEX app token".into(),
            vtex_standin::DEFAULT_APP_TOKEN.into(),
        ),
        ("numeric document".into(), numeric_document.clone()),
    ];
    searched.extend(
        customer_values(&placement_body[0])
            .into_iter()
            .map(|(f, v)| (format!("placement {f}"), v)),
    );
    searched.extend(
        customer_values(&import_body["order"])
            .into_iter()
            .map(|(f, v)| (format!("import {f}"), v)),
    );
    assert!(searched.len() > 25, "{searched:?}");

    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut wrong: Vec<String> = Vec::new();

    // Simulation with the buyer's postal code.
    let mut boot = start(&stack, &bins, "simulation").await;
    let sim = with_credentials(&event("simulation.post-checkout"));
    let (o, _) = boot.invoke(&sim, LIMIT).await;
    if http_status(&o) != 200 {
        wrong.push(format!("simulation: {o:?}"));
    }
    outputs.push(("simulation".into(), boot.settled_output().await));
    boot.stop().await;

    // Placement with customer data; the order it creates is fulfilled and looked at.
    let mut boot = start(&stack, &bins, "order-placement").await;
    let (o, _) = boot.invoke(&placement_event, LIMIT).await;
    let order_id = match &o {
        Outcome::Response(r) if r["statusCode"] == 200 => {
            let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
            body[0]["orderId"].as_str().unwrap().to_string()
        }
        other => panic!("placement: {other:?}\n{}", boot.settled_output().await),
    };
    outputs.push(("order-placement".into(), boot.settled_output().await));
    boot.stop().await;

    let mut boot = start(&stack, &bins, "fulfillment").await;
    for case in ["fulfillment.fulfill", "fulfillment.admin-order"] {
        let e = with_credentials(&event(case).replace(EVENT_ORDER_ID, &order_id));
        let (o, _) = boot.invoke(&e, LIMIT).await;
        if http_status(&o) != 200 {
            wrong.push(format!("{case}: {o:?}"));
        }
    }
    outputs.push(("fulfillment".into(), boot.settled_output().await));
    boot.stop().await;

    // The ERP's invoice and tracking of that order, through dispatch to the OMS stand-in.
    let mut boot = start(&stack, &bins, "dispatch").await;
    for case in ["dispatch.invoice-output", "dispatch.tracking"] {
        let text = event(case)
            .replace(
                SAMPLE_ACCOUNT,
                &format!(
                    "\\\"an\\\": \\\"{}\\\"",
                    connector_tests::lambda_stack::MARKETPLACE_ACCOUNT
                ),
            )
            .replace(
                "\\\"orderId\\\": \\\"123543123\\\"",
                &format!("\\\"orderId\\\": \\\"{order_id}\\\""),
            );
        let e: Value = serde_json::from_str(&text).unwrap();
        let (o, _) = boot.invoke(&e, LIMIT).await;
        let failed = failed_records(&o);
        if !failed.is_empty() {
            wrong.push(format!("{case}: {o:?}"));
        }
    }
    outputs.push(("dispatch".into(), boot.settled_output().await));
    boot.stop().await;

    // Imports: the refused one with a numeric document, then the sample order, its invoice and
    // tracking.
    let mut boot = start(&stack, &bins, "order-import").await;
    let (o, _) = boot.invoke(&numeric_import, LIMIT).await;
    if !matches!(o, Outcome::Response(_)) {
        wrong.push(format!("numeric-document import: {o:?}"));
    }
    for case in [
        "order-import.order",
        "order-import.invoice",
        "order-import.tracking",
    ] {
        let e: Value = serde_json::from_str(&event(case)).unwrap();
        let (o, _) = boot.invoke(&e, LIMIT).await;
        if !failed_records(&o).is_empty() {
            wrong.push(format!("{case}: {o:?}"));
        }
    }
    outputs.push(("order-import".into(), boot.settled_output().await));
    boot.stop().await;

    // VTEX's notification about the imported order.
    let mut boot = start(&stack, &bins, "mse").await;
    let e = with_credentials(&event("mse.invoice"));
    let (o, _) = boot.invoke(&e, LIMIT).await;
    if http_status(&o) != 200 {
        wrong.push(format!("mse.invoice: {o:?}"));
    }
    outputs.push(("mse".into(), boot.settled_output().await));
    boot.stop().await;

    // The functions without customer data still read secrets at start and call AWS and VTEX.
    for (binary, case) in [
        ("catalog-sync", "catalog-sync.price-changed"),
        ("reservation-sweeper", "reservation-sweeper.scheduled"),
        ("reconciler", "reconciler.scheduled"),
    ] {
        let mut boot = start(&stack, &bins, binary).await;
        let e: Value = serde_json::from_str(&event(case)).unwrap();
        let (o, _) = boot.invoke(&e, LIMIT).await;
        if !matches!(o, Outcome::Response(_)) || !failed_records(&o).is_empty() {
            wrong.push(format!("{case}: {o:?}"));
        }
        outputs.push((binary.into(), boot.settled_output().await));
        boot.stop().await;
    }

    assert!(
        wrong.is_empty(),
        "the flow did not run as expected:\n{}",
        wrong.join("\n")
    );

    // What the DLQs hold besides the parked bodies (which are the ERP's own messages): the
    // `reason` / `reasonCode` attributes, which CloudWatch alarms and operators read.
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let mut parked_reasons = 0;
    for (id, url) in &stack.queues {
        if !id.contains("DeadLetter") {
            continue;
        }
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            let attrs: Vec<String> = m
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.string_value().unwrap_or_default()))
                .collect();
            parked_reasons += 1;
            outputs.push((format!("{id} attributes"), attrs.join("\n")));
        }
    }
    assert!(
        parked_reasons >= 1,
        "the numeric-document import was not parked in a DLQ"
    );

    // The order log (what the admin view shows): every `LOG#` entry of the orders table.
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let orders = stack
        .tables
        .get("OrdersTable")
        .expect("the template declares OrdersTable");
    let mut log_entries = Vec::new();
    let mut start = None;
    loop {
        let page = dynamo
            .scan()
            .table_name(orders)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let is_log = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with("LOG#"));
            if let (true, Some(data)) = (is_log, item.get("data").and_then(|v| v.as_s().ok())) {
                log_entries.push(data.clone());
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert!(
        log_entries.len() >= 4,
        "the flow wrote {} order log entries",
        log_entries.len()
    );
    outputs.push(("order log".into(), log_entries.join("\n")));

    let mut hits = Vec::new();
    let mut lines = 0;
    for (function, output) in &outputs {
        for line in output.lines() {
            lines += 1;
            for (what, value) in &searched {
                if line.contains(value.as_str()) {
                    hits.push(format!("{function}: {what} ({value}) in: {line}"));
                }
            }
        }
    }
    // The processes did log (the search ran over something): at least one line per function.
    for (function, output) in &outputs {
        assert!(
            output.lines().count() > 0,
            "{function} printed nothing at TRACE"
        );
    }
    assert!(
        hits.is_empty(),
        "{} hit(s) over {lines} log lines:\n{}",
        hits.len(),
        hits.join("\n")
    );
}
