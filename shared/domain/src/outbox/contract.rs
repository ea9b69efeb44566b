//! The contract every outbox adapter must pass (feature `test-support`): an order store whose
//! `save_emitting` writes the outbox records it lists and deletes. One body per behaviour, each
//! given a fresh, empty store; `tests/tests/suite/outbox_contract.rs` runs every body against the
//! memory, SQLite and DynamoDB adapters.

use super::*;
use crate::catalog::Sku;
use crate::lifecycle::order_event;
use crate::order::{CanceledBy, Cancellation, Order, OrderStatus, Receipt};
use crate::ports::{CatalogWriter, OrderEventKind, OrderStore, SaveOutcome, StockEffect};
use chrono::TimeZone;
use serde_json::json;

/// The adapters under test: one order store and its outbox (the same value in the embedded and
/// memory stores), and the catalog the order's stock lives in.
#[derive(Clone)]
pub struct OutboxSubject {
    pub orders: Arc<dyn OrderStore>,
    pub catalog: Arc<dyn CatalogWriter>,
    pub outbox: Arc<dyn Outbox>,
}

const SKU: &str = "sku-outbox";
const LOCATION: &str = "w1";

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

fn e(err: StoreError) -> String {
    err.to_string()
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 12, minute, 0)
        .single()
        .unwrap_or_default()
}

fn sku() -> Result<Sku, String> {
    serde_json::from_value(json!({
        "id": SKU, "name": "Outbox SKU", "prices": [{ "price": 1990, "listPrice": 1990 }],
        "stock": { LOCATION: { "onHand": 10 } }
    }))
    .map_err(|e| e.to_string())
}

fn reserved(order_id: &str, marketplace_order_id: &str) -> Result<Order, String> {
    serde_json::from_value(json!({
        "orderId": order_id, "an": "mkp", "marketplaceOrderId": marketplace_order_id,
        "marketplacePaymentValue": 2490, "status": "RESERVED",
        "lines": [{ "index": 0, "skuId": SKU, "quantity": 2, "unitPrice": 1990, "freight": 500,
                    "selectedSla": "normal", "locationId": LOCATION }],
        "createdAt": at(0), "expiresAt": at(30), "version": 0
    }))
    .map_err(|e| e.to_string())
}

/// A reserved order in the store, its stock in the catalog.
async fn placed(s: &OutboxSubject, order_id: &str) -> Result<Order, String> {
    s.catalog.upsert_sku(&sku()?).await.map_err(e)?;
    let order = reserved(order_id, &format!("m-{order_id}"))?;
    match s.orders.create_reserved(&order).await.map_err(e)? {
        crate::ports::PlaceOutcome::Created(o) => Ok(o),
        other => Err(format!("placement: {other:?}")),
    }
}

fn authorized(order: &Order) -> Order {
    let mut next = order.clone();
    next.status = OrderStatus::Authorized;
    next.authorized = Some(Receipt {
        date: at(1),
        receipt: "r-1".into(),
    });
    next
}

fn canceled(order: &Order) -> Order {
    let mut next = order.clone();
    next.status = OrderStatus::Canceled;
    next.canceled = Some(Cancellation {
        date: at(2),
        receipt: "r-2".into(),
        request_id: Some("c-1".into()),
        by: CanceledBy::Marketplace,
        reason: Some("changed my mind".into()),
    });
    next
}

async fn save(
    s: &OutboxSubject,
    order: &Order,
    effect: StockEffect,
    events: &[OrderEvent],
) -> Result<Order, String> {
    match s
        .orders
        .save_emitting(order, effect, events)
        .await
        .map_err(e)?
    {
        SaveOutcome::Saved(o) => Ok(o),
        SaveOutcome::Conflict => Err(format!("save of {} conflicted", order.order_id)),
    }
}

async fn ids(s: &OutboxSubject) -> Result<Vec<String>, String> {
    Ok(s.outbox
        .pending(None, 100)
        .await
        .map_err(e)?
        .into_iter()
        .map(|r| r.event.event_id)
        .collect())
}

/// The order and its event are written together; the record holds the event exactly; `save`
/// writes none.
pub async fn save_emitting_writes_the_event_with_the_order(
    s: &OutboxSubject,
) -> Result<(), String> {
    let order = placed(s, "OB-1").await?;
    check(ids(s).await?.is_empty(), "a placement writes no event")?;
    let next = authorized(&order);
    let event = order_event(&next, OrderEventKind::Authorized);
    let saved = save(s, &next, StockEffect::None, std::slice::from_ref(&event)).await?;
    check(saved.version == 1, "the saved order has version 1")?;
    let stored = s.orders.get("OB-1").await.map_err(e)?;
    check(
        stored.as_ref().map(|o| o.status) == Some(OrderStatus::Authorized),
        "the order is stored authorized",
    )?;
    let record = s
        .outbox
        .record(&event.event_id)
        .await
        .map_err(e)?
        .ok_or("the event has an outbox record")?;
    check(record.event == event, "the record holds the event as built")?;
    check(
        serde_json::to_string(&record.event).ok() == serde_json::to_string(&event).ok(),
        "the record's bytes are the event's",
    )?;
    let mut plain = saved.clone();
    plain.pending_cancellation = Some("c-0".into());
    save(s, &plain, StockEffect::None, &[]).await?;
    check(
        ids(s).await? == vec![event.event_id.clone()],
        "a save without events writes no record",
    )
}

/// A save that loses the version race writes no record; one whose stock effect fails neither.
pub async fn a_refused_save_writes_no_event(s: &OutboxSubject) -> Result<(), String> {
    let order = placed(s, "OB-2").await?;
    let first = authorized(&order);
    save(s, &first, StockEffect::None, &[]).await?;
    let stale = canceled(&order); // still version 0
    let event = order_event(&stale, OrderEventKind::Canceled);
    let outcome = s
        .orders
        .save_emitting(&stale, StockEffect::Release, std::slice::from_ref(&event))
        .await
        .map_err(e)?;
    check(outcome == SaveOutcome::Conflict, "the stale save conflicts")?;
    check(
        ids(s).await?.is_empty(),
        "a conflicting save writes no event",
    )?;

    // Stock of a SKU the catalog does not hold: the save fails, with nothing written.
    let mut fresh = s.orders.get("OB-2").await.map_err(e)?.ok_or("stored")?;
    fresh.lines[0].sku_id = "sku-missing".into();
    let broken = canceled(&fresh);
    let event = order_event(&broken, OrderEventKind::Canceled);
    let failed = s
        .orders
        .save_emitting(&broken, StockEffect::Release, std::slice::from_ref(&event))
        .await;
    check(
        failed.is_err(),
        "a save whose stock effect fails is an error",
    )?;
    check(ids(s).await?.is_empty(), "a failed save writes no event")?;
    let stored = s.orders.get("OB-2").await.map_err(e)?.ok_or("stored")?;
    check(
        stored.status == OrderStatus::Authorized && stored.version == 1,
        "a failed save leaves the order as it was",
    )
}

/// `pending` is oldest first, honours the limit and the age bound; `mark_delivered` deletes once.
pub async fn pending_is_oldest_first_and_delivery_deletes_once(
    s: &OutboxSubject,
) -> Result<(), String> {
    let mut expected = Vec::new();
    for id in ["OB-3a", "OB-3b", "OB-3c"] {
        let order = placed(s, id).await?;
        let next = authorized(&order);
        let event = order_event(&next, OrderEventKind::Authorized);
        save(s, &next, StockEffect::None, std::slice::from_ref(&event)).await?;
        expected.push(event.event_id);
    }
    check(ids(s).await? == expected, "pending lists oldest first")?;
    let two = s.outbox.pending(None, 2).await.map_err(e)?;
    check(two.len() == 2, "pending honours the limit")?;
    check(
        two[0].written_at <= two[1].written_at,
        "written_at grows with the writes",
    )?;
    let before_all = two[0].written_at - chrono::Duration::seconds(1);
    check(
        s.outbox
            .pending(Some(before_all), 10)
            .await
            .map_err(e)?
            .is_empty(),
        "nothing is pending before the first write",
    )?;
    let first = two[0].clone();
    check(
        s.outbox.mark_delivered(&first).await.map_err(e)?,
        "the first delete deletes",
    )?;
    check(
        !s.outbox.mark_delivered(&first).await.map_err(e)?,
        "a second delete of the same record reports nothing deleted",
    )?;
    check(
        s.outbox
            .record(first.event_id())
            .await
            .map_err(e)?
            .is_none(),
        "the delivered record is gone",
    )?;
    check(ids(s).await? == expected[1..], "the others stay pending")
}

/// `emit` writes a missing record and keeps a pending one as it is; a relay holding an older write
/// of a record does not delete a newer one.
pub async fn emit_is_idempotent_and_deletes_are_conditional(
    s: &OutboxSubject,
) -> Result<(), String> {
    let order = placed(s, "OB-4").await?;
    let next = authorized(&order);
    let event = order_event(&next, OrderEventKind::Authorized);
    save(s, &next, StockEffect::None, std::slice::from_ref(&event)).await?;
    let first = s
        .outbox
        .record(&event.event_id)
        .await
        .map_err(e)?
        .ok_or("written")?;
    s.orders
        .emit(std::slice::from_ref(&event))
        .await
        .map_err(e)?;
    let again = s
        .outbox
        .record(&event.event_id)
        .await
        .map_err(e)?
        .ok_or("still there")?;
    check(again == first, "emit keeps a pending record untouched")?;
    check(
        s.outbox.mark_delivered(&first).await.map_err(e)?,
        "delivered",
    )?;
    // A replay re-emits after the delivery: a new write of the same event.
    pause();
    s.orders
        .emit(std::slice::from_ref(&event))
        .await
        .map_err(e)?;
    let rewritten = s
        .outbox
        .record(&event.event_id)
        .await
        .map_err(e)?
        .ok_or("emit writes a missing record")?;
    check(
        rewritten.event == event,
        "the re-emitted record is the event",
    )?;
    check(
        rewritten.written_at != first.written_at,
        "the re-emitted record is a new write",
    )?;
    check(
        !s.outbox.mark_delivered(&first).await.map_err(e)?,
        "a stale relay does not delete the newer write",
    )?;
    check(
        s.outbox.record(&event.event_id).await.map_err(e)?.is_some(),
        "the newer write is still pending",
    )?;
    check(
        s.outbox.mark_delivered(&rewritten).await.map_err(e)?,
        "the newer write is deleted by its own relay",
    )?;
    check(ids(s).await?.is_empty(), "nothing pending")
}

/// Two writes apart by this get distinct `written_at` on every store's clock.
fn pause() {
    std::thread::sleep(std::time::Duration::from_millis(2));
}
