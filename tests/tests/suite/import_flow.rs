//! An external order imported end to end against moto and the VTEX stand-in: the import queue
//! drives it through place → authorize dispatch → (grace period, a delayed queue message) →
//! start-handling → invoice → tracking, VTEX notifies our mse, and the ERP hears of it. Invoices
//! that come with the order go right after placement instead (§Decisions C24).

use crate::import_support::{
    Options, bench, invoice_message_for, order_message_for, tracking_message_for,
};
use domain::import::{ImportStatus, ImportStep};
use domain::order::Outcome;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_order_reaches_invoiced_and_the_erp_hears_of_its_invoice() {
    let Some(b) = bench(Options {
        // Short, but long enough that start-handling must wait for a delayed message.
        grace: Duration::from_secs(2),
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let mkp = "2630580124-flow";
    let mut order = order_message_for(mkp);
    order["invoices"] = serde_json::json!([]);
    b.send(&order).await;
    b.pump().await;

    let rec = b.record(mkp).await;
    let vtex_id = rec.vtex_order_id.clone().expect("placed");
    assert_eq!(vtex_id, format!("EXT-{mkp}"), "as the stand-in returned it");
    assert_eq!(rec.status(), ImportStatus::Handling);
    assert_eq!(b.vtex_status(&vtex_id).as_deref(), Some("handling"));
    let accepted = |m: &str, p: &str| b.calls(m, p).iter().filter(|r| r.accepted()).count();
    assert_eq!(accepted("POST", &format!("{vtex_id}/start-handling")), 1);

    // The seller's invoice, later: the import reaches invoiced.
    b.send(&invoice_message_for(mkp)).await;
    b.pump().await;
    let rec = b.record(mkp).await;
    assert_eq!(rec.step, ImportStep::Handling);
    assert_eq!(rec.status(), ImportStatus::Invoiced);
    assert_eq!(b.vtex_status(&vtex_id).as_deref(), Some("invoiced"));
    assert_eq!(b.placements(mkp), 1);
    assert_eq!(accepted("POST", &format!("{vtex_id}/fulfill")), 1);
    assert_eq!(accepted("POST", &format!("{vtex_id}/start-handling")), 1);
    assert_eq!(accepted("POST", &format!("{vtex_id}/invoice")), 1);
    // Every call carried the same affiliate, order id and marketplace order id.
    let fulfill = &b.calls("POST", &format!("{vtex_id}/fulfill"))[0];
    assert_eq!(fulfill.query.as_deref(), Some("affiliateId=EXT&sc=1"));
    assert_eq!(fulfill.body["marketplaceOrderId"], mkp);

    // The grace period went by as a queue delay: start-handling came ≥ 2 s after authorization.
    let log = b.log(mkp).await;
    let at = |step: &str| {
        log.iter()
            .find(|e| e.step == step && e.outcome == Outcome::Success)
            .map(|e| e.at)
            .unwrap_or_else(|| panic!("no {step} success in {log:#?}"))
    };
    let waited = at("import.startHandling") - at("import.authorizeDispatch");
    assert!(waited >= chrono::Duration::milliseconds(1900), "{waited}");
    assert!(log.iter().any(|e| e.step == "import.wait"));

    // VTEX notified our mse, which answered and told the ERP once.
    let calls = b
        .standin
        .state()
        .fulfillment
        .lock()
        .unwrap()
        .mse_calls
        .clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, Some(200));
    let erp = b.erp_messages().await;
    assert_eq!(erp.len(), 1, "{erp:#?}");
    assert_eq!(erp[0]["type"], "import.invoiceNotified");
    assert_eq!(erp[0]["orderId"], vtex_id.as_str());
    assert_eq!(erp[0]["affiliateId"], "EXT");
    assert_eq!(erp[0]["marketplaceOrderId"], mkp);
    assert!(log.iter().any(|e| e.step == "mse.invoice"));

    // Tracking later: PATCHed once, and VTEX's notification of it reaches the ERP too.
    b.send(&tracking_message_for(mkp, "NFe-2630580124")).await;
    b.pump().await;
    assert_eq!(
        accepted("PATCH", &format!("{vtex_id}/invoice/NFe-2630580124")),
        1
    );
    let erp = b.erp_messages().await;
    assert_eq!(
        erp.len(),
        1,
        "only the new (tracking) notification: {erp:#?}"
    );
    assert_eq!(erp[0]["invoice"]["trackingNumber"], "SR000987654321BR");
    assert_eq!(b.drain_dlq().await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_sent_twice_is_imported_once() {
    let Some(b) = bench(Options::default()).await else {
        return;
    };
    let mkp = "2630580124-twice";
    b.send(&order_message_for(mkp)).await;
    b.send(&order_message_for(mkp)).await;
    b.pump().await;
    b.send(&order_message_for(mkp)).await;
    b.pump().await;
    assert_eq!(b.placements(mkp), 1);
    assert_eq!(b.record(mkp).await.status(), ImportStatus::Invoiced);
    let vtex_id = format!("EXT-{mkp}");
    let invoices = b
        .calls("POST", &format!("{vtex_id}/invoice"))
        .iter()
        .filter(|r| r.accepted())
        .count();
    assert_eq!(invoices, 1);
    assert_eq!(b.drain_dlq().await.len(), 0);
}
