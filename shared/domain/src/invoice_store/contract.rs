//! The contract every [`InvoiceStore`] adapter must pass (feature `test-support`): one body per
//! behaviour, each given a fresh, empty store. `connector_tests::invoice_store_contract_tests!`
//! runs every body against every adapter (memory, SQLite, DynamoDB).

use super::*;
use crate::invoicing::{Invoice, InvoiceItem, InvoiceType, SendState};
use crate::money::Cents;
use chrono::{TimeZone, Utc};

pub fn sample(order_id: &str, number: &str) -> InvoiceRecord {
    let invoice = Invoice {
        kind: InvoiceType::Output,
        invoice_number: number.to_string(),
        invoice_value: Cents(11080),
        issuance_date: "2014-10-07T10:15:00-03:00".into(),
        items: vec![InvoiceItem {
            id: "2002495".into(),
            quantity: 1,
            price: Cents(9990),
            description: Some("Capa slimfit".into()),
        }],
        invoice_key: None,
        invoice_url: None,
        embedded_invoice: Some("<nfe>…</nfe>".into()),
        courier: None,
        tracking_number: None,
        tracking_url: None,
        dispatched_date: None,
    };
    let at = Utc
        .with_ymd_and_hms(2024, 1, 31, 12, 0, 0)
        .single()
        .unwrap_or_default();
    InvoiceRecord::pending(order_id, &invoice, at)
}

/// `create_once` writes version 0 once; a second create with the same key returns the first record
/// and writes nothing.
pub async fn create_once_writes_once(store: &dyn InvoiceStore) -> Result<(), String> {
    let a = sample("SO-1", "NFe-1");
    let created = match store.create_once(&a).await.map_err(|e| e.to_string())? {
        CreateOutcome::Created(r) => r,
        CreateOutcome::Existing(_) => return Err("fresh record reported as existing".into()),
    };
    check(created == a, "created record equals the input")?;

    let mut changed = a.clone();
    changed.invoice.invoice_value = Cents(1);
    match store
        .create_once(&changed)
        .await
        .map_err(|e| e.to_string())?
    {
        CreateOutcome::Existing(r) => check(r == a, "existing record is the first one")?,
        CreateOutcome::Created(_) => return Err("second create_once wrote".into()),
    }
    Ok(())
}

/// `get` returns a record or `None`; `list_by_order` only the order's records, by number.
pub async fn get_and_list_by_order(store: &dyn InvoiceStore) -> Result<(), String> {
    let (order, other) = ("SO-1", "SO-1-other");
    let a = sample(order, "NFe-1");
    for r in [&a, &sample(order, "NFe-0"), &sample(other, "NFe-1")] {
        store.create_once(r).await.map_err(|e| e.to_string())?;
    }
    let got = store.get(order, "NFe-1").await.map_err(|e| e.to_string())?;
    check(got.as_ref() == Some(&a), "get returns the record")?;
    check(
        store
            .get(order, "NFe-9")
            .await
            .map_err(|e| e.to_string())?
            .is_none(),
        "get of a missing record is None",
    )?;

    let list = store
        .list_by_order(order)
        .await
        .map_err(|e| e.to_string())?;
    let numbers: Vec<&str> = list.iter().map(|r| r.number()).collect();
    check(
        numbers == ["NFe-0", "NFe-1"],
        "list_by_order: only this order's, sorted by number",
    )?;
    Ok(())
}

/// `save` writes at the stored version and bumps it; a stale version or a record never created
/// conflicts and writes nothing.
pub async fn save_is_versioned(store: &dyn InvoiceStore) -> Result<(), String> {
    let order = "SO-1";
    let a = sample(order, "NFe-1");
    store.create_once(&a).await.map_err(|e| e.to_string())?;
    let mut sent = a.clone();
    sent.mark_sent("receipt-1", a.created_at);
    let saved = match store.save(&sent).await.map_err(|e| e.to_string())? {
        RecordSave::Saved(r) => r,
        RecordSave::Conflict => return Err("save at the current version conflicted".into()),
    };
    check(saved.version == 1, "save bumps the version")?;
    check(saved.state == SendState::Sent, "save stores the change")?;
    check(
        store.save(&sent).await.map_err(|e| e.to_string())? == RecordSave::Conflict,
        "save at a stale version conflicts",
    )?;
    let reread = store.get(order, "NFe-1").await.map_err(|e| e.to_string())?;
    check(reread == Some(saved), "the saved record reads back")?;
    check(
        store
            .save(&sample(order, "NFe-missing"))
            .await
            .map_err(|e| e.to_string())?
            == RecordSave::Conflict,
        "saving a record that was never created conflicts",
    )?;
    Ok(())
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("contract broken: {what}"))
    }
}
