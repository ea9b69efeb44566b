//! Catalog sync flows against moto (DynamoDB catalog table + SQS FIFO queue with DLQ) and the VTEX
//! stand-in (`tests/run.sh`): the ERP's catalog messages reach the store, the simulation and VTEX.

use crate::catalog_sync_support::*;
use chrono::{TimeZone, Utc};
use connector_tools::bulk::{self, BulkOptions, BulkTargets, Stage};
use domain::catalog_notify::SyncStateStore;
use domain::clock::{ManualClock, SystemClock};
use domain::money::Cents;
use domain::ports::CatalogReader;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vtex_standin::FaultPlan;

const DRAIN: Duration = Duration::from_secs(40);

fn body_json(resp: &Response<Body>) -> Value {
    match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        _ => Value::Null,
    }
}

/// `items[0]` of a checkout simulation of one unit of `sku` (São Paulo, sales channel 1).
async fn simulate(b: &Bench, sku: &str) -> Value {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 18, 12, 0, 0).unwrap());
    let deps = simulation::Deps::new(
        b.catalog.clone(),
        Arc::new(clock),
        simulation::Config::default(),
    );
    let body = json!({
        "items": [{"id": sku, "quantity": 1, "seller": "1"}],
        "postalCode": "01310-100", "country": "BRA"
    });
    let mut req = Request::new(Body::from(body.to_string()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = "/pvt/orderForms/simulation?sc=1".parse().unwrap();
    let resp = simulation::handle(&deps, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    body_json(&resp)["items"][0].clone()
}

#[tokio::test]
async fn a_price_change_reaches_the_next_simulation_response() {
    let Some(b) = bench(chrono::Duration::seconds(60)).await else {
        return;
    };
    let before = simulate(&b, "2002495").await;
    assert_eq!(
        (before["price"].clone(), before["listPrice"].clone()),
        (json!(9990), json!(9990))
    );

    b.send(&sample_body("price-changed")).await;
    b.drain(DRAIN).await;

    let after = simulate(&b, "2002495").await;
    assert_eq!(after["price"], json!(8990));
    assert_eq!(after["listPrice"], json!(9990));
    assert_eq!(b.notified("price", "2002495"), 1);
    // The store held the new price when VTEX heard: it re-calls the simulation right away.
    let stored = b.catalog.get_sku("2002495").await.unwrap().unwrap();
    assert_eq!(stored.price_for(None, None).unwrap().price, Cents(8990));
    assert!(b.parked().await.is_empty());
}

/// SUG's `SaveSuggestionRequest`, translated for draft-4 validation, or `None` when the OpenAPI
/// files are not beside the repository.
fn suggestion_schema() -> Option<Value> {
    let Some(dir) = connector_tests::schema::openapi_dir() else {
        eprintln!("skipped: SUG schema check: VTEX OpenAPI folder not found");
        return None;
    };
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("suggestions.json")).unwrap())
            .unwrap();
    let schemas = spec
        .pointer("/components/schemas")
        .unwrap()
        .as_object()
        .unwrap();
    let mut root = connector_tests::schema::translate(&schemas["SaveSuggestionRequest"], false);
    let definitions: Map<String, Value> = schemas
        .iter()
        .map(|(k, v)| (k.clone(), connector_tests::schema::translate(v, false)))
        .collect();
    root["definitions"] = Value::Object(definitions);
    Some(root)
}

#[tokio::test]
async fn a_new_sku_unknown_to_the_marketplace_produces_exactly_one_well_formed_suggestion() {
    let Some(b) = bench(chrono::Duration::seconds(60)).await else {
        return;
    };
    let upsert = sample_body("sku-upsert");
    b.send(&upsert).await;
    b.drain(DRAIN).await;

    let stored = b
        .catalog
        .get_sku("2003001")
        .await
        .unwrap()
        .expect("written");
    assert_eq!(stored.stock["cd-rio"].on_hand, 12);
    let calls = b.standin.state().requests();
    let puts: Vec<_> = calls.iter().filter(|c| c.method == "PUT").collect();
    assert_eq!(puts.len(), 1, "{calls:#?}");
    assert_eq!(puts[0].path, "/luxstore/suggestions/seller1/2003001");
    assert_eq!(
        puts[0].status, 200,
        "the stand-in checks protocol.md §SKU suggestion"
    );
    let body = &puts[0].body;
    assert_eq!(body["Weight"], json!(1300), "grams");
    assert_eq!(body["Updated"], Value::Null);
    assert_eq!(
        body["SkuSpecifications"][1],
        json!({"fieldName": "Voltagem", "fieldValues": ["Bivolt"]})
    );
    if let Some(schema) = suggestion_schema() {
        connector_tests::schema::validate(&schema, body)
            .unwrap_or_else(|e| panic!("suggestion breaks SUG's schema: {e:#?}"));
    }
    // Discovery first, on the lowercase path, with an empty body.
    let discovery = &calls[0];
    assert_eq!(
        (
            discovery.method.as_str(),
            discovery.path.as_str(),
            discovery.status
        ),
        (
            "POST",
            "/api/catalog_system/pvt/skuseller/changenotification/seller1/2003001",
            404
        )
    );
    assert_eq!(discovery.body, Value::Null);

    // The ERP sends the same SKU again: nothing changed, nothing sent.
    b.send(&upsert).await;
    b.drain(DRAIN).await;
    assert_eq!(b.standin.state().requests().len(), calls.len());
}

#[tokio::test]
async fn throttled_notifications_back_off_through_visibility_and_arrive_once() {
    let Some(b) = bench(chrono::Duration::seconds(60)).await else {
        return;
    };
    b.standin.state().set_faults(FaultPlan {
        next: vec![429, 429],
        retry_after: Some(1),
        ..FaultPlan::default()
    });
    b.send(&sample_body("stock-changed")).await;
    // The store is written on the first delivery, whatever VTEX says.
    b.pump_once().await;
    let stored = b.catalog.get_sku("2002495").await.unwrap().unwrap();
    assert_eq!(stored.stock["cd-cajamar"].on_hand, 3);
    assert_eq!(b.notified("inventory", "2002495"), 0);

    b.drain(DRAIN).await;
    let calls = b.standin.state().requests();
    let statuses: Vec<(u16, bool)> = calls.iter().map(|c| (c.status, c.faulted)).collect();
    assert_eq!(statuses, vec![(429, true), (429, true), (202, false)]);
    assert_eq!(b.notified("inventory", "2002495"), 1);
    assert!(
        b.parked().await.is_empty(),
        "a throttled call is never parked"
    );
    let state = b.sync.get_sync_state("2002495").await.unwrap().state;
    assert!(!state.inventory.pending());
    assert_eq!(state.inventory.followup_due, None);
}

#[tokio::test]
async fn bad_messages_land_in_the_dlq_with_their_reason_and_change_nothing() {
    let Some(b) = bench(chrono::Duration::seconds(60)).await else {
        return;
    };
    let before = b.catalog.get_sku("2002495").await.unwrap();
    let decimal = json!({"type": "price.changed", "version": 1, "skuId": "2002495",
                         "prices": [{"price": 89.90, "listPrice": 99.90}]});
    let negative = json!({"type": "stock.changed", "version": 1, "skuId": "2002495",
                          "location": "cd-cajamar", "onHand": -1});
    b.send(&decimal).await;
    b.send(&negative).await;
    b.drain(DRAIN).await;
    let mut parked = b.parked().await;
    parked.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(parked.len(), 2);
    assert_eq!(parked[0].1, "DECIMAL_AMOUNT");
    assert_eq!(
        parked[0].0,
        decimal.to_string(),
        "parked unchanged, re-drivable"
    );
    assert!(parked[0].2.contains("prices[0].price"), "{}", parked[0].2);
    assert_eq!(parked[1].1, "NEGATIVE_STOCK");
    assert_eq!(b.catalog.get_sku("2002495").await.unwrap(), before);
    assert!(b.standin.state().requests().is_empty());
}

#[tokio::test]
async fn a_burst_of_stock_changes_over_sqs_is_coalesced_into_a_handful_of_notifications() {
    let Some(b) = bench(chrono::Duration::seconds(5)).await else {
        return;
    };
    let bodies: Vec<Value> = (0..150)
        .map(|i| {
            json!({"type": "stock.changed", "version": 1, "skuId": "2002495",
                   "location": "cd-cajamar", "onHand": 1000 - i})
        })
        .collect();
    b.send_many("2002495", &bodies).await;
    let started = std::time::Instant::now();
    b.drain(DRAIN).await;
    let took = started.elapsed().as_secs();

    let stored = b.catalog.get_sku("2002495").await.unwrap().unwrap();
    assert_eq!(
        stored.stock["cd-cajamar"].on_hand, 851,
        "the last change wins"
    );
    let sent = b.notified("inventory", "2002495");
    // At most one per window while the burst lasts, plus the one that closes it.
    let bound = usize::try_from(took / 5).unwrap() + 2;
    assert!(
        (1..=bound).contains(&sent) && sent < 10,
        "{sent} notifications for 150 changes in {took}s"
    );
    let state = b.sync.get_sync_state("2002495").await.unwrap().state;
    assert!(!state.inventory.pending(), "the last change is covered");
    assert!(b.parked().await.is_empty());
}

#[tokio::test]
async fn bulk_load_into_dynamo_notifies_only_what_changed() {
    let Some(b) = bench(chrono::Duration::seconds(60)).await else {
        return;
    };
    let mut file = sample();
    let lines: Mutex<Vec<(Stage, usize, usize)>> = Mutex::new(Vec::new());
    let progress =
        |s: Stage, done: usize, total: usize| lines.lock().unwrap().push((s, done, total));
    let targets = BulkTargets {
        catalog: b.catalog.as_ref(),
        writer: b.catalog.as_ref(),
        sync: b.sync.as_ref(),
        clock: &SystemClock,
        notifier: Some(&b.deps.notifier),
    };
    let opts = BulkOptions {
        progress_every: 20,
        ..BulkOptions::default()
    };
    // The store already holds the sample: reloading it changes nothing.
    let report = bulk::run(&file, targets, &opts, &progress).await.unwrap();
    assert_eq!((report.unchanged, report.written), (file.skus.len(), 0));
    assert!(b.standin.state().requests().is_empty());

    // One price, one stock figure, one new SKU the marketplace does not know.
    file.skus[0].prices[0].price = Cents(file.skus[0].prices[0].price.value() - 100);
    file.skus[1].stock.values_mut().for_each(|l| l.on_hand += 1);
    let mut new: domain::catalog::Sku =
        serde_json::from_value(sample_body("sku-upsert")["sku"].clone()).unwrap();
    new.id = "2003002".into();
    file.skus.push(new);
    lines.lock().unwrap().clear();
    let report = bulk::run(&file, targets, &opts, &progress).await.unwrap();
    assert_eq!(
        (report.new, report.changed, report.written),
        (1, 2, 3),
        "{report:?}"
    );
    assert_eq!(report.suggested, 1);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let (id0, id1) = (file.skus[0].id.clone(), file.skus[1].id.clone());
    assert_eq!(b.notified("price", &id0), 1);
    assert_eq!(b.notified("inventory", &id0), 0);
    assert_eq!(b.notified("inventory", &id1), 1);
    assert_eq!(
        b.standin.state().catalog.lock().unwrap().suggestions.len(),
        1
    );
    let stored = b.catalog.get_sku(&id0).await.unwrap().unwrap();
    assert_eq!(stored.prices, file.skus[0].prices);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(
        lines.first(),
        Some(&(Stage::Read, 53, 53)),
        "one read of up to 100 SKUs"
    );
    assert!(lines.contains(&(Stage::Read, 53, 53)));
    assert!(lines.contains(&(Stage::Written, 3, 3)));
    assert!(lines.contains(&(Stage::Notified, 3, 3)));
}

#[tokio::test]
async fn a_refused_notification_is_parked_in_the_dlq_and_a_redrive_sends_it() {
    let Some(b) = bench(chrono::Duration::seconds(60)).await else {
        return;
    };
    b.standin.state().set_faults(FaultPlan {
        next: vec![403],
        ..FaultPlan::default()
    });
    b.send(&sample_body("stock-changed")).await;
    b.drain(DRAIN).await;
    let stored = b.catalog.get_sku("2002495").await.unwrap().unwrap();
    assert_eq!(
        stored.stock["cd-cajamar"].on_hand, 3,
        "written whatever VTEX said"
    );
    assert_eq!(b.notified("inventory", "2002495"), 0);

    // Parked: a notify.due (no data) with VTEX's reason.
    let parked = b.parked().await;
    assert_eq!(parked.len(), 1);
    let (body, code, reason) = &parked[0];
    assert_eq!(code, "VTEX_403");
    assert!(reason.contains("403"), "{reason}");
    let due: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (due["type"].as_str(), due["kind"].as_str()),
        (Some("notify.due"), Some("inventory"))
    );

    // The credentials are fixed; the operator re-drives the DLQ.
    let moved = aws_adapters::dispatch_queue::redrive(&b.sqs, &b.dlq_url, &b.queue_url, None)
        .await
        .unwrap();
    assert_eq!(moved, 1);
    b.drain(DRAIN).await;
    assert_eq!(b.notified("inventory", "2002495"), 1);
    let stored = b.catalog.get_sku("2002495").await.unwrap().unwrap();
    assert_eq!(stored.stock["cd-cajamar"].on_hand, 3, "nothing replayed");
}
