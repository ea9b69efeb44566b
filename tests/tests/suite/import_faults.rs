//! Crashes, VTEX 5xx and bad input in the middle of an import (moto + the VTEX stand-in): every
//! step resumes where it stopped, the order is never placed twice, and refusals end in the log
//! and the DLQ with VTEX's reason.

use crate::import_support::{ACCOUNT, AFFILIATE, Options, bench, order_message_for};
use domain::import::{ImportCreate, ImportRecord, ImportSave, ImportStatus, ImportStore};
use domain::order::Outcome;
use vtex::fulfillment::ImportCall;
use vtex_standin::FaultPlan;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vtex_5xx_in_the_middle_resume_without_a_duplicate_order() {
    let Some(b) = bench(Options {
        max_receives: 10,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    // Every other VTEX call fails: authorize, the invoice, start-handling… each comes back.
    b.standin.state().set_faults(FaultPlan {
        fail_every: Some(2),
        status: Some(500),
        ..Default::default()
    });
    let mkp = "2630580124-5xx";
    b.send(&order_message_for(mkp)).await;
    b.pump().await;
    assert_eq!(b.placements(mkp), 1, "placed exactly once");
    let faulted = b
        .standin
        .state()
        .requests()
        .iter()
        .filter(|r| r.faulted)
        .count();
    assert!(faulted >= 2, "faults were injected ({faulted})");
    let rec = b.record(mkp).await;
    assert_eq!(rec.status(), ImportStatus::Invoiced);
    let log = b.log(mkp).await;
    assert!(
        log.iter()
            .any(|e| e.outcome == Outcome::Pending && e.detail.contains("VTEX answered 500")),
        "{log:#?}"
    );
    assert_eq!(b.drain_dlq().await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_that_landed_before_a_crash_is_adopted_not_placed_again() {
    let Some(b) = bench(Options::default()).await else {
        return;
    };
    let mkp = "2630580124-crash";
    let msg = order_message_for(mkp);
    let parsed = domain::import::parse(msg.to_string().as_bytes(), None).unwrap();
    let domain::import::ImportCommand::Order { order, .. } = parsed.command else {
        panic!()
    };
    // GIVEN the worker wrote "placing", sent the placement, and died before recording the answer.
    let now = chrono::Utc::now();
    let rec = ImportRecord::new(
        parsed.key.clone(),
        "1".into(),
        (*order).clone(),
        vec![],
        None,
        now,
    );
    let ImportCreate::Created(mut rec) = b.imports.create_once(&rec).await.unwrap() else {
        panic!()
    };
    rec.begin_placing(now);
    let ImportSave::Saved(_) = b.imports.save(&rec).await.unwrap() else {
        panic!()
    };
    let landed = b
        .deps
        .vtex
        .place_order(ACCOUNT, AFFILIATE, "1", &order, &b.deps.config.mse_url)
        .await
        .unwrap();
    assert!(matches!(landed, ImportCall::Success(_)));
    // WHEN the message comes back
    b.send(&msg).await;
    b.pump().await;
    // THEN VTEX's order is adopted and the import goes on from there.
    assert_eq!(b.placements(mkp), 1, "no second placement");
    let rec = b.record(mkp).await;
    assert_eq!(
        rec.vtex_order_id.as_deref(),
        Some(format!("EXT-{mkp}").as_str())
    );
    assert_eq!(rec.status(), ImportStatus::Invoiced);
    let log = b.log(mkp).await;
    assert!(log.iter().any(|e| e.detail.contains("adopted")), "{log:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_that_timed_out_is_looked_up_before_placing_again() {
    let Some(mut b) = bench(Options::default()).await else {
        return;
    };
    // The stand-in answers after the client gave up: the placement's outcome is unknown.
    b.deps.vtex = std::sync::Arc::new(
        vtex::client::VtexClient::with_timeout(
            b.deps.config.vtex_base_url.clone(),
            b.standin.credentials(),
            std::time::Duration::from_millis(300),
        )
        .unwrap(),
    );
    b.standin.state().set_faults(FaultPlan {
        delay_ms: Some(600),
        ..Default::default()
    });
    let mkp = "2630580124-timeout";
    b.send(&order_message_for(mkp)).await;
    assert_eq!(b.poll().await, 1);
    assert_eq!(
        b.record(mkp).await.step,
        domain::import::ImportStep::Placing
    );
    b.standin.state().set_faults(FaultPlan::default());
    b.pump().await;
    let lookups = b.calls("GET", &format!("/api/oms/pvt/orders/EXT-{mkp}"));
    assert!(!lookups.is_empty(), "VTEX was asked first");
    assert_eq!(
        b.placements(mkp),
        1,
        "the lost placement never landed: placed once, after the lookup"
    );
    assert_eq!(b.record(mkp).await.status(), ImportStatus::Invoiced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sku_is_parked_with_vtexs_reason() {
    let Some(b) = bench(Options::default()).await else {
        return;
    };
    let mkp = "2630580124-sku";
    let mut msg = order_message_for(mkp);
    msg["order"]["items"][0]["id"] = serde_json::json!("999");
    msg["invoices"] = serde_json::json!([]);
    b.send(&msg).await;
    b.pump().await;
    let dlq = b.drain_dlq().await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].1.as_deref(), Some("VTEX_400"));
    assert!(
        dlq[0]
            .2
            .as_deref()
            .unwrap_or("")
            .contains("Item 999 not found"),
        "{dlq:?}"
    );
    let log = b.log(mkp).await;
    let last = log.last().unwrap();
    assert_eq!(last.outcome, Outcome::Error);
    assert!(last.detail.contains("Item 999 not found"));
    assert_eq!(b.placements(mkp), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_parked_before_vtex_sees_them() {
    let Some(b) = bench(Options::default()).await else {
        return;
    };
    let mkp = "2630580124-bad";
    let mut msg = order_message_for(mkp);
    msg["order"]["marketplacePaymentValue"] = serde_json::json!(11.0);
    msg["order"]["shippingData"]["address"]
        .as_object_mut()
        .unwrap()
        .remove("street");
    b.send(&msg).await;
    b.pump().await;
    let dlq = b.drain_dlq().await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].1.as_deref(), Some("NOT_CENTS"));
    assert!(b.standin.state().requests().is_empty());
    assert_eq!(b.log(mkp).await[0].outcome, Outcome::Alert);
    assert!(
        b.imports
            .get(&domain::import::ImportKey::new(AFFILIATE, mkp))
            .await
            .unwrap()
            .is_none()
    );
}
