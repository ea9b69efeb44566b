//! The contract every [`InvoiceStore`] adapter must pass (feature `test-support`): one body per
//! behaviour, each given a fresh, empty store. `connector_tests::invoice_store_contract_tests!`
//! runs every body against every adapter (memory, SQLite, DynamoDB).

use super::*;
use crate::invoicing::{Invoice, InvoiceItem, InvoiceType, SendState};
use chrono::{TimeZone, Utc};

/// A limit no test order reaches: the bodies about records, not sums.
const NO_LIMIT: Cents = Cents(i64::MAX);

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
    let created = match store
        .create_once(&a, NO_LIMIT)
        .await
        .map_err(|e| e.to_string())?
    {
        CreateOutcome::Created(r) => r,
        other => return Err(format!("fresh record not created: {other:?}")),
    };
    check(created == a, "created record equals the input")?;

    let mut changed = a.clone();
    changed.invoice.invoice_value = Cents(1);
    match store
        .create_once(&changed, NO_LIMIT)
        .await
        .map_err(|e| e.to_string())?
    {
        CreateOutcome::Existing(r) => check(r == a, "existing record is the first one")?,
        other => {
            return Err(format!(
                "second create_once did not find the first: {other:?}"
            ));
        }
    }
    Ok(())
}

/// `get` returns a record or `None`; `list_by_order` only the order's records, by number.
pub async fn get_and_list_by_order(store: &dyn InvoiceStore) -> Result<(), String> {
    let (order, other) = ("SO-1", "SO-1-other");
    let a = sample(order, "NFe-1");
    for r in [&a, &sample(order, "NFe-0"), &sample(other, "NFe-1")] {
        store
            .create_once(r, NO_LIMIT)
            .await
            .map_err(|e| e.to_string())?;
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
    store
        .create_once(&a, NO_LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    let mut sent = a.clone();
    sent.mark_sent("receipt-1", a.created_at);
    let saved = match store
        .save(&sent, Tally::Keep)
        .await
        .map_err(|e| e.to_string())?
    {
        RecordSave::Saved(r) => r,
        other => {
            return Err(format!(
                "save at the current version did not save: {other:?}"
            ));
        }
    };
    check(saved.version == 1, "save bumps the version")?;
    check(saved.state == SendState::Sent, "save stores the change")?;
    check(
        store
            .save(&sent, Tally::Keep)
            .await
            .map_err(|e| e.to_string())?
            == RecordSave::Conflict,
        "save at a stale version conflicts",
    )?;
    let reread = store.get(order, "NFe-1").await.map_err(|e| e.to_string())?;
    check(reread == Some(saved), "the saved record reads back")?;
    check(
        store
            .save(&sample(order, "NFe-missing"), Tally::Keep)
            .await
            .map_err(|e| e.to_string())?
            == RecordSave::Conflict,
        "saving a record that was never created conflicts",
    )?;
    Ok(())
}

/// A sample record of `kind` worth `value` cents.
pub fn worth(order_id: &str, number: &str, kind: InvoiceType, value: i64) -> InvoiceRecord {
    let mut r = sample(order_id, number);
    r.invoice.kind = kind;
    r.invoice.invoice_value = Cents(value);
    r
}

fn e(err: StoreError) -> String {
    err.to_string()
}

/// `create_once` refuses a record whose value would take its kind's sum past the limit, writing
/// nothing, and says how much is invoiced; sale and return sums are apart; another order's sums
/// are untouched; a record that exactly fits is created.
pub async fn create_once_refuses_past_the_limit(store: &dyn InvoiceStore) -> Result<(), String> {
    let (order, limit) = ("SO-T", Cents(20_000));
    let a = worth(order, "NFe-1", InvoiceType::Output, 11_080);
    check(
        matches!(
            store.create_once(&a, limit).await.map_err(e)?,
            CreateOutcome::Created(_)
        ),
        "a record within the limit is created",
    )?;
    let b = worth(order, "NFe-2", InvoiceType::Output, 11_080);
    let over = store.create_once(&b, limit).await.map_err(e)?;
    check(
        over == CreateOutcome::OverLimit {
            invoiced: Cents(11_080),
            limit,
        },
        &format!("a record past the limit is OverLimit with the sum held, got {over:?}"),
    )?;
    check(
        store.get(order, "NFe-2").await.map_err(e)?.is_none(),
        "an OverLimit record is not written",
    )?;
    // A duplicate of a created record is Existing even though its value would not fit again.
    check(
        matches!(
            store.create_once(&a, limit).await.map_err(e)?,
            CreateOutcome::Existing(_)
        ),
        "a duplicate past the limit is Existing",
    )?;
    let c = worth(order, "NFe-3", InvoiceType::Output, 8_920);
    check(
        matches!(
            store.create_once(&c, limit).await.map_err(e)?,
            CreateOutcome::Created(_)
        ),
        "a record that brings the sum exactly to the limit is created",
    )?;
    let r = worth(order, "RET-1", InvoiceType::Input, 11_080);
    check(
        matches!(
            store.create_once(&r, Cents(20_000)).await.map_err(e)?,
            CreateOutcome::Created(_)
        ),
        "returns have a sum of their own",
    )?;
    let other = worth("SO-T-other", "NFe-1", InvoiceType::Output, 20_000);
    check(
        matches!(
            store.create_once(&other, limit).await.map_err(e)?,
            CreateOutcome::Created(_)
        ),
        "another order's sums are its own",
    )?;
    let sums = store.invoiced(order).await.map_err(e)?;
    check(
        sums == InvoicedSums {
            output: Cents(20_000),
            input: Cents(11_080),
        },
        &format!("the sums are what was created, got {sums:?}"),
    )?;
    check(
        store.invoiced("SO-never").await.map_err(e)? == InvoicedSums::default(),
        "an order with no records has zero sums",
    )?;
    Ok(())
}

/// Turning a live record refused (`Tally::Release`) takes its value off the sums in the same save,
/// so another invoice fits again; making a refused record live again (`Tally::Claim`) is refused
/// while it does not fit and writes nothing; a `Keep` save (pending → sent) moves nothing.
pub async fn release_and_claim_move_the_sums(store: &dyn InvoiceStore) -> Result<(), String> {
    let (order, limit) = ("SO-R", Cents(11_080));
    let a = worth(order, "NFe-1", InvoiceType::Output, 11_080);
    let CreateOutcome::Created(a) = store.create_once(&a, limit).await.map_err(e)? else {
        return Err("contract broken: first record not created".into());
    };
    let mut refused = a.clone();
    refused.mark_rejected(a.created_at);
    let RecordSave::Saved(refused) = store
        .save(&refused, Tally::of(&a, &refused, limit))
        .await
        .map_err(e)?
    else {
        return Err("contract broken: release at the current version conflicted".into());
    };
    check(
        store.invoiced(order).await.map_err(e)?.output == Cents::ZERO,
        "a released record no longer counts",
    )?;
    let b = worth(order, "NFe-2", InvoiceType::Output, 11_080);
    let CreateOutcome::Created(b) = store.create_once(&b, limit).await.map_err(e)? else {
        return Err("contract broken: after a release, the order's value fits again".into());
    };
    let mut again = refused.clone();
    again.state = SendState::Pending;
    let claim = Tally::of(&refused, &again, limit);
    check(
        claim == Tally::Claim { limit },
        "refused → pending is a claim",
    )?;
    let over = store.save(&again, claim).await.map_err(e)?;
    check(
        over == RecordSave::OverLimit {
            invoiced: Cents(11_080),
            limit,
        },
        &format!("a claim past the limit is OverLimit, got {over:?}"),
    )?;
    check(
        store.get(order, "NFe-1").await.map_err(e)? == Some(refused.clone()),
        "an OverLimit claim writes nothing",
    )?;
    let mut sent = b.clone();
    sent.mark_sent("r-2", b.created_at);
    check(
        matches!(
            store
                .save(&sent, Tally::of(&b, &sent, limit))
                .await
                .map_err(e)?,
            RecordSave::Saved(_)
        ),
        "pending → sent saves",
    )?;
    check(
        store.invoiced(order).await.map_err(e)?.output == Cents(11_080),
        "pending → sent keeps the sum",
    )?;
    Ok(())
}

/// `tasks` creates of distinct records racing for one order: exactly the ones that fit win, the
/// sum never passes the limit, and the records written are the ones reported created.
pub async fn concurrent_creates_never_pass_the_limit(
    store: &dyn InvoiceStore,
) -> Result<(), String> {
    let (order, limit, tasks) = ("SO-C", Cents(11_080), 8);
    let records: Vec<InvoiceRecord> = (0..tasks)
        .map(|i| worth(order, &format!("NFe-{i}"), InvoiceType::Output, 3_000))
        .collect();
    let outcomes =
        futures::future::join_all(records.iter().map(|r| store.create_once(r, limit))).await;
    let mut created = 0;
    for o in outcomes {
        match o.map_err(e)? {
            CreateOutcome::Created(_) => created += 1,
            CreateOutcome::OverLimit { invoiced, .. } => check(
                invoiced <= limit && invoiced + Cents(3_000) > limit,
                &format!("OverLimit reported a sum of {invoiced}"),
            )?,
            CreateOutcome::Existing(_) => return Err("contract broken: distinct records".into()),
        }
    }
    check(
        created == 3,
        &format!("3 of 3000 fit in 11080, {created} were created"),
    )?;
    let listed = store.list_by_order(order).await.map_err(e)?;
    check(
        listed.len() == 3,
        "the records written are the ones created",
    )?;
    check(
        store.invoiced(order).await.map_err(e)?.output == Cents(9_000),
        "the sum is what was created",
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
