//! DynamoDB adapters of the catalog and order ports.
//!
//! # Table layout (mirrored by `template.yaml` and [`crate::schema`])
//!
//! Every `data` attribute (here and in the invoices and imports tables) holds the record's stored
//! shape from `storage_format`: JSON with `schemaVersion` first (absent on items written before it
//! existed, which read as version 1), defined apart from the domain types so a domain rename cannot
//! make stored items unreadable. The SQLite store writes the same JSON.
//!
//! ## Catalog table — key `pk` (S)
//!
//! | item  | `pk`         | other attributes |
//! |-------|--------------|------------------|
//! | SKU   | `SKU#{id}`   | `data` (S): the SKU without stock, JSON; `stock` (M): `{ "<location>": { "onHand": N, "reserved": N, "available": N, "asOf"?: S, "shippedAt"?: S } }`; `rev` (N) |
//! | rules | `RULES`      | `data` (S): the shipping rules, JSON |
//! | sync  | `SYNC#{id}`  | `data` (S): the SKU's notification state (`domain::catalog_notify::SyncState`), JSON; `version` (N) |
//!
//! `available` is `onHand - reserved`, kept by every writer of the two counters because a
//! condition expression cannot do arithmetic. It may be negative (the ERP reported less than is
//! held); sellable stock is `max(0, available)`, and a hold of `q ≥ 1` units is conditioned on
//! `available >= q`, which is the same test. Storing the unclamped difference keeps every stock
//! change a pure `SET a = a ± :q` (no read first), including releases.
//!
//! `rev` counts the writes that change the *set* of locations (`upsert_sku`, `set_on_hand`); those
//! read, then write conditioned on the `rev` and on every `reserved` counter they read, and retry
//! on conflict, so a catalog write never loses a hold taken in between. `set_prices` rewrites
//! `data` conditioned on the `rev` it read (and bumps it), so it never undoes an `upsert_sku`.
//!
//! The sync item is written by the catalog sync only, apart from the SKU item so the hot stock
//! counters never contend with notification bookkeeping (see [`DynamoSyncStates`]).
//!
//! Access patterns:
//! - simulation: `get_skus` → BatchGetItem of up to 100 distinct `SKU#` keys per request, the
//!   chunks in parallel (⌈N/100⌉ round trips), unprocessed keys retried with back-off; eventually
//!   consistent (a simulation may be a second stale; placement re-checks under a condition).
//! - simulation: `shipping_rules` → GetItem `RULES`.
//! - ERP sync: `upsert_sku`, `set_on_hand`, `set_prices`, `apply_stock_snapshot` → consistent
//!   GetItem, then conditional Put / Update (a stock count's condition also tests the location's
//!   `asOf` / `shippedAt` marks, RFC 3339 UTC strings of fixed width that compare as instants:
//!   `storage_format::catalog::StockMarksV1`; a shipment sets `shippedAt` in its save); `get_sku` → consistent GetItem; sync state → consistent GetItem `SYNC#`, then
//!   Put conditioned on `version`.
//! - placement, cancel, expiry, invoicing: `Update` of `stock.<loc>` inside the order transactions
//!   (see below).
//!
//! ## Orders table — key `pk` (S) + `sk` (S); sparse GSI `gsi1` (`gsi1pk`, `gsi1sk`), projection ALL
//!
//! | item    | `pk`                                | `sk`                          | other attributes |
//! |---------|-------------------------------------|-------------------------------|------------------|
//! | order   | `ORDER#{orderId}`                   | `ORDER`                       | `data` (S): the order, JSON; `version` (N); `status` (S); while `RESERVED` only: `gsi1pk` = `RESERVED`, `gsi1sk` = `{expiresAt}#{orderId}` with `expiresAt` RFC 3339 UTC, nanoseconds, fixed width |
//! | mapping | `MKP#{an}#{marketplaceOrderId}`     | `MAP`                         | `orderId` (S) |
//! | log     | `ORDER#{orderId}`                   | `LOG#{appendedAt}#{unique}`   | `data` (S): the log entry, JSON |
//! | reconciliation cursor | `RECONCILE`         | `CURSOR`                      | `cursor` (S): see [`reconcile`] |
//!
//! Access patterns:
//! - placement: `create_reserved` → ONE TransactWriteItems: Put order (`attribute_not_exists`),
//!   Put mapping (`attribute_not_exists`), one Update per distinct SKU item adding to `reserved`
//!   and taking from `available` at each location, conditioned on `available >= q`. At most 100
//!   actions, so at most 98 distinct SKUs per order. A cancelled transaction is explained from
//!   its cancellation reasons: mapping exists → the existing order; SKU condition → unknown SKU /
//!   out of stock.
//! - retries: `get_by_marketplace_id` → GetItem mapping, then GetItem order.
//! - fulfill / cancel / invoice: `get` → GetItem order; `save` → TransactWriteItems: Put order
//!   conditioned on `version = :expected` (+ the stock Updates of a release or a shipment).
//! - sweeper: `expired_reservations` → Query `gsi1`, `gsi1pk = RESERVED AND gsi1sk <= now`, oldest
//!   first. Only reserved orders carry the GSI keys, so the index holds exactly the open holds.
//! - order log: `append_log` → PutItem; `read_log` → Query `pk = ORDER#id AND begins_with(sk, LOG#)`.

mod catalog;
mod catalog_sync;
mod expr;
pub mod listing;
mod order_log;
mod orders;
pub mod reconcile;

pub use catalog::DynamoCatalog;
pub use catalog_sync::DynamoSyncStates;
pub use orders::{DynamoOrders, GSI1};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::catalog::{LocationId, StockLevel};
use domain::ports::StoreError;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use storage_format::Stored;

/// Most actions DynamoDB accepts in one TransactWriteItems.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// Most keys DynamoDB accepts in one BatchGetItem.
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// Attempts of an optimistic write (read + conditional write, or a transaction cancelled by a
/// concurrent one) before giving up with `Unavailable`.
const MAX_ATTEMPTS: u32 = 12;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn sdk_error<E, R>(operation: &str, err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(format!(
        "DynamoDB {operation}: {}",
        DisplayErrorContext(&err)
    ))
}

pub(crate) fn build_error(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB request could not be built: {err}"))
}

/// Exponential back-off with full jitter: 5 ms, 10 ms, … capped at 640 ms.
pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = 5u64 << attempt.min(7);
    let jitter = (uuid::Uuid::new_v4().as_u128() % u128::from(cap_ms + 1)) as u64;
    tokio::time::sleep(Duration::from_millis(cap_ms / 2 + jitter / 2)).await;
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "item attribute {name} is missing or not a string"
        ))),
    }
}

pub(crate) fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("item attribute {name} is not an integer"))),
        _ => Err(StoreError::Corrupt(format!(
            "item attribute {name} is missing or not a number"
        ))),
    }
}

/// A record's `data` attribute: its stored shape, versioned (`storage_format`), never the domain
/// type's own serde form.
pub(crate) fn encode<T: Stored>(record: &T) -> Result<String, StoreError> {
    storage_format::encode(record).map_err(|e| StoreError::Corrupt(e.0))
}

/// The record a `data` attribute holds, of whichever shape version wrote it.
pub(crate) fn decode<T: Stored>(data: &str) -> Result<T, StoreError> {
    storage_format::decode(data).map_err(|e| StoreError::Corrupt(e.0))
}

/// The key of a table keyed `pk` + `sk`.
pub(crate) fn pk_sk(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// Consistent GetItem of `key` in `table`.
pub(crate) async fn get_consistent(
    client: &Client,
    table: &str,
    key: Item,
) -> Result<Option<Item>, StoreError> {
    Ok(client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem", e))?
        .item)
}

/// PutItem of `item` in `table` under `condition` (with its expression names and values);
/// `false` when the condition failed.
pub(crate) async fn put_if(
    client: &Client,
    table: &str,
    item: Item,
    condition: impl Into<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
) -> Result<bool, StoreError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(PutItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(false)
        }
        Err(err) => Err(sdk_error("PutItem", err)),
    }
}

/// `key` plus a versioned record: `data` (S), the record's stored JSON, and `version` (N), the
/// optimistic-concurrency counter.
pub(crate) fn record_item<T: Stored>(
    mut key: Item,
    record: &T,
    version: u64,
) -> Result<Item, StoreError> {
    let data = encode(record)?;
    key.insert("data".into(), AttributeValue::S(data));
    key.insert("version".into(), AttributeValue::N(version.to_string()));
    Ok(key)
}

/// The record [`record_item`] wrote, its version taken from the `version` attribute when there
/// is one: that attribute is what conditions test, so it is the truth.
pub(crate) fn record_from_item<T: Stored>(
    item: &Item,
    what: &str,
    version: impl FnOnce(&mut T) -> &mut u64,
) -> Result<T, StoreError> {
    let Some(AttributeValue::S(data)) = item.get("data") else {
        return Err(StoreError::Corrupt(format!("{what} item has no data")));
    };
    let mut record: T = decode(data)?;
    if let Some(AttributeValue::N(n)) = item.get("version") {
        *version(&mut record) = n
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{what} version is not a number")))?;
    }
    Ok(record)
}

// Stock attribute names inside the `stock` map.
pub(crate) const ON_HAND: &str = "onHand";
pub(crate) const RESERVED: &str = "reserved";
pub(crate) const AVAILABLE: &str = "available";

pub(crate) fn level_value(level: &StockLevel) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (ON_HAND.to_string(), n(level.on_hand)),
        (RESERVED.to_string(), n(level.reserved)),
        (AVAILABLE.to_string(), n(level.on_hand - level.reserved)),
    ]))
}

pub(crate) fn stock_value(stock: &BTreeMap<LocationId, StockLevel>) -> AttributeValue {
    AttributeValue::M(
        stock
            .iter()
            .map(|(loc, level)| (loc.clone(), level_value(level)))
            .collect(),
    )
}

pub(crate) fn stock_from_item(item: &Item) -> Result<BTreeMap<LocationId, StockLevel>, StoreError> {
    let Some(value) = item.get("stock") else {
        return Ok(BTreeMap::new());
    };
    let AttributeValue::M(map) = value else {
        return Err(StoreError::Corrupt("SKU item stock is not a map".into()));
    };
    map.iter()
        .map(|(loc, level)| {
            let AttributeValue::M(level) = level else {
                return Err(StoreError::Corrupt(format!(
                    "stock of location {loc} is not a map"
                )));
            };
            Ok((
                loc.clone(),
                StockLevel {
                    on_hand: get_n(level, ON_HAND)?,
                    reserved: get_n(level, RESERVED)?,
                },
            ))
        })
        .collect()
}
