//! The orders table: orders, the marketplace-id mapping, the order log, and the reservations they
//! hold in the catalog table (layout in the module docs of [`crate::dynamo`]).

use super::catalog::sku_key;
use super::expr::Expr;
use super::{
    AVAILABLE, Item, MAX_ATTEMPTS, MAX_TRANSACTION_ACTIONS, ON_HAND, RESERVED, backoff,
    build_error, decode, encode, get_consistent, get_n, get_s, n, pk_sk, s, sdk_error,
    stock_from_item,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::catalog::{LocationId, SkuId};
use domain::order::{LogEntry, Order, OrderStatus};
use domain::ports::{OrderEvent, OrderStore, PlaceOutcome, SaveOutcome, StockEffect, StoreError};
use domain::store_support::{aggregate_holds, holds_by_sku};
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the sparse index of open reservations.
pub const GSI1: &str = "gsi1";
const GSI1_RESERVED: &str = "RESERVED";
const ORDER_SK: &str = "ORDER";
const MAPPING_SK: &str = "MAP";
const LOG_PREFIX: &str = "LOG#";
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Stock Updates of one order, per SKU item: `(sku, [(location, quantity)])`.
type SkuHolds = Vec<(SkuId, Vec<(LocationId, i64)>)>;

/// `OrderStore` over the orders table; writes stock holds into the catalog table, and the events a
/// save owes the ERP into the outbox table, in the same transactions.
#[derive(Debug, Clone)]
pub struct DynamoOrders {
    client: Client,
    orders_table: String,
    catalog_table: String,
    /// Where `save_emitting` writes its events ([`crate::outbox`]); `None` in functions that never
    /// emit (a save with events is then refused, never silently dropped).
    outbox_table: Option<String>,
}

fn order_pk(order_id: &str) -> String {
    format!("ORDER#{order_id}")
}

fn mapping_pk(an: &str, marketplace_order_id: &str) -> String {
    format!("MKP#{an}#{marketplace_order_id}")
}

/// RFC 3339 in UTC with nanoseconds, always the same width, so strings sort like the instants.
fn fixed_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn order_item(order: &Order, version: u64) -> Result<Item, StoreError> {
    let mut stored = order.clone();
    stored.version = version;
    let version = i64::try_from(version)
        .map_err(|_| StoreError::Limit(format!("order version {version} is too large")))?;
    let mut item = pk_sk(order_pk(&order.order_id), ORDER_SK);
    item.insert("data".into(), s(encode(&stored)?));
    item.insert("version".into(), n(version));
    item.insert("status".into(), s(order.status.as_str()));
    item.extend(super::listing::index_keys(order));
    // Only open reservations are in the sweeper's index; a Put without them drops the entry.
    if order.status == OrderStatus::Reserved {
        item.insert("gsi1pk".into(), s(GSI1_RESERVED));
        item.insert(
            "gsi1sk".into(),
            s(format!(
                "{}#{}",
                fixed_time(order.expires_at),
                order.order_id
            )),
        );
    }
    Ok(item)
}

fn order_from_item(item: &Item) -> Result<Order, StoreError> {
    let mut order: Order = decode(get_s(item, "data")?)?;
    order.version = u64::try_from(get_n(item, "version")?)
        .map_err(|_| StoreError::Corrupt("negative order version".into()))?;
    Ok(order)
}

fn check_action_count(actions: usize, what: &str) -> Result<(), StoreError> {
    if actions > MAX_TRANSACTION_ACTIONS {
        return Err(StoreError::Limit(format!(
            "{what} needs {actions} transaction actions; DynamoDB allows {MAX_TRANSACTION_ACTIONS} \
             (at most {} distinct SKUs per order)",
            MAX_TRANSACTION_ACTIONS - 2
        )));
    }
    Ok(())
}

/// One Update of a SKU item taking `q` units from `available` into `reserved` at each location,
/// conditioned on the item, the location and enough sellable units existing.
fn reservation_update(
    catalog_table: &str,
    sku_id: &str,
    locations: &[(LocationId, i64)],
) -> Result<TransactWriteItem, StoreError> {
    let mut e = Expr::default();
    let mut sets = Vec::new();
    let mut conditions = vec![format!("attribute_exists({})", e.name("pk"))];
    for (loc, q) in locations {
        let reserved = e.path(&["stock", loc, RESERVED]);
        let available = e.path(&["stock", loc, AVAILABLE]);
        let q = e.value(n(*q));
        conditions.push(format!("{available} >= {q}"));
        sets.push(format!("{reserved} = {reserved} + {q}"));
        sets.push(format!("{available} = {available} - {q}"));
    }
    let update = Update::builder()
        .table_name(catalog_table)
        .set_key(Some(sku_key(sku_id)))
        .update_expression(format!("SET {}", sets.join(", ")))
        .condition_expression(conditions.join(" AND "))
        .set_expression_attribute_names(e.names())
        .set_expression_attribute_values(e.values())
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// One Update of a SKU item giving back (`Release`) or consuming (`Ship`) held units.
fn effect_update(
    catalog_table: &str,
    sku_id: &str,
    locations: &[(LocationId, i64)],
    effect: StockEffect,
) -> Result<TransactWriteItem, StoreError> {
    let mut e = Expr::default();
    let mut sets = Vec::new();
    let mut conditions = Vec::new();
    for (loc, q) in locations {
        let location = e.path(&["stock", loc]);
        let reserved = e.path(&["stock", loc, RESERVED]);
        let q = e.value(n(*q));
        conditions.push(format!("attribute_exists({location})"));
        sets.push(format!("{reserved} = {reserved} - {q}"));
        if effect == StockEffect::Ship {
            // available = onHand - reserved does not move: both sides drop by q.
            let on_hand = e.path(&["stock", loc, ON_HAND]);
            sets.push(format!("{on_hand} = {on_hand} - {q}"));
            // An ERP count taken before now no longer holds these units (StockMarks).
            let shipped_at = e.path(&["stock", loc, storage_format::catalog::SHIPPED_AT]);
            let now = e.value(s(storage_format::catalog::mark_time(Utc::now())));
            sets.push(format!("{shipped_at} = {now}"));
        } else {
            let available = e.path(&["stock", loc, AVAILABLE]);
            sets.push(format!("{available} = {available} + {q}"));
        }
    }
    let update = Update::builder()
        .table_name(catalog_table)
        .set_key(Some(sku_key(sku_id)))
        .update_expression(format!("SET {}", sets.join(", ")))
        .condition_expression(conditions.join(" AND "))
        .set_expression_attribute_names(e.names())
        .set_expression_attribute_values(e.values())
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The placement transaction: `[Put order, Put mapping, Update SKU…]`, in this order (the
/// cancellation reasons are read by position).
fn create_actions(
    orders_table: &str,
    catalog_table: &str,
    order: &Order,
    holds: &SkuHolds,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    check_action_count(2 + holds.len(), "this order")?;
    let mut e = Expr::default();
    let not_exists = format!("attribute_not_exists({})", e.name("pk"));
    let put_order = Put::builder()
        .table_name(orders_table)
        .set_item(Some(order_item(order, 0)?))
        .condition_expression(&not_exists)
        .set_expression_attribute_names(e.names())
        .build()
        .map_err(build_error)?;
    let mut mapping = pk_sk(
        mapping_pk(&order.an, &order.marketplace_order_id),
        MAPPING_SK,
    );
    mapping.insert("orderId".into(), s(&order.order_id));
    let put_mapping = Put::builder()
        .table_name(orders_table)
        .set_item(Some(mapping))
        .condition_expression(&not_exists)
        .set_expression_attribute_names(e.names())
        .build()
        .map_err(build_error)?;
    let mut actions = vec![
        TransactWriteItem::builder().put(put_order).build(),
        TransactWriteItem::builder().put(put_mapping).build(),
    ];
    for (sku, locations) in holds {
        actions.push(reservation_update(catalog_table, sku, locations)?);
    }
    Ok(actions)
}

/// The save transaction: `[Put order if version matches, Update SKU…, Put outbox event…]`.
fn save_actions(
    orders_table: &str,
    catalog_table: &str,
    order: &Order,
    effect: StockEffect,
    holds: &SkuHolds,
    outbox: Option<(&str, &[OrderEvent])>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let emitted = outbox.map_or(0, |(_, events)| events.len());
    check_action_count(1 + holds.len() + emitted, "this order's stock change")?;
    let expected = i64::try_from(order.version)
        .map_err(|_| StoreError::Limit(format!("order version {} is too large", order.version)))?;
    let mut e = Expr::default();
    let condition = format!("{} = {}", e.name("version"), e.value(n(expected)));
    let put = Put::builder()
        .table_name(orders_table)
        .set_item(Some(order_item(order, order.version + 1)?))
        .condition_expression(condition)
        .set_expression_attribute_names(e.names())
        .set_expression_attribute_values(e.values())
        .build()
        .map_err(build_error)?;
    let mut actions = vec![TransactWriteItem::builder().put(put).build()];
    if effect != StockEffect::None {
        for (sku, locations) in holds {
            actions.push(effect_update(catalog_table, sku, locations, effect)?);
        }
    }
    if let Some((table, events)) = outbox {
        let written_at = Utc::now();
        for event in events {
            actions.push(crate::outbox::outbox_put(table, event, written_at)?);
        }
    }
    Ok(actions)
}

fn reason_code(reasons: &[CancellationReason], index: usize) -> &str {
    reasons
        .get(index)
        .and_then(CancellationReason::code)
        .unwrap_or("None")
}

/// A cancellation a new attempt may get past: another transaction touched the same items, or
/// the table throttled.
fn is_transient(reasons: &[CancellationReason]) -> bool {
    reasons.iter().any(|r| {
        matches!(
            r.code(),
            Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
        )
    })
}

fn reason_codes(reasons: &[CancellationReason]) -> String {
    reasons
        .iter()
        .map(|r| r.code().unwrap_or("None"))
        .collect::<Vec<_>>()
        .join(", ")
}

enum Attempt<T> {
    Done(T),
    Retry,
}

impl DynamoOrders {
    pub fn new(
        client: Client,
        orders_table: impl Into<String>,
        catalog_table: impl Into<String>,
    ) -> Self {
        DynamoOrders {
            client,
            orders_table: orders_table.into(),
            catalog_table: catalog_table.into(),
            outbox_table: None,
        }
    }

    /// Writes the events of `save_emitting` / `emit` into the outbox table `table`.
    pub fn with_outbox(mut self, table: impl Into<String>) -> Self {
        self.outbox_table = Some(table.into());
        self
    }

    fn outbox_for(&self, events: &[OrderEvent]) -> Result<Option<&str>, StoreError> {
        match (&self.outbox_table, events.is_empty()) {
            (_, true) => Ok(None),
            (Some(table), false) => Ok(Some(table)),
            (None, false) => Err(StoreError::Unavailable(
                "this function has no outbox table (OUTBOX_TABLE) to write order events to".into(),
            )),
        }
    }

    /// Runs `actions` as one transaction; on cancellation, returns the reasons.
    async fn transact(
        &self,
        actions: &[TransactWriteItem],
    ) -> Result<Result<(), Vec<CancellationReason>>, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions.to_vec()))
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Ok(Err(c.cancellation_reasons().to_vec()))
                }
                _ => Err(sdk_error("TransactWriteItems", err)),
            },
        }
    }

    async fn explain_placement_failure(
        &self,
        order: &Order,
        holds: &SkuHolds,
        reasons: &[CancellationReason],
    ) -> Result<Attempt<PlaceOutcome>, StoreError> {
        if reason_code(reasons, 1) == CONDITION_FAILED {
            return match self
                .get_by_marketplace_id(&order.an, &order.marketplace_order_id)
                .await?
            {
                // Our own earlier attempt went through (e.g. the SDK retried after a timeout).
                Some(existing) if existing.order_id == order.order_id => {
                    Ok(Attempt::Done(PlaceOutcome::Created(existing)))
                }
                Some(existing) => Ok(Attempt::Done(PlaceOutcome::Existing(existing))),
                None => Err(StoreError::Corrupt(format!(
                    "marketplace order {} is mapped to a missing order",
                    order.marketplace_order_id
                ))),
            };
        }
        if reason_code(reasons, 0) == CONDITION_FAILED {
            return Err(StoreError::Corrupt(format!(
                "order id {} is already used by another marketplace order",
                order.order_id
            )));
        }
        for (i, (sku_id, locations)) in holds.iter().enumerate() {
            let Some(reason) = reasons.get(i + 2) else {
                break;
            };
            if reason.code() != Some(CONDITION_FAILED) {
                continue;
            }
            let item = match reason.item().filter(|item| !item.is_empty()) {
                Some(item) => Some(item.clone()),
                None => self.read_sku_item(sku_id).await?,
            };
            let Some(item) = item else {
                return Ok(Attempt::Done(PlaceOutcome::UnknownSku {
                    sku_id: sku_id.clone(),
                }));
            };
            let stock = stock_from_item(&item)?;
            if let Some((loc, _)) = locations.iter().find(|(loc, q)| {
                stock
                    .get(loc)
                    .is_none_or(|level| level.on_hand - level.reserved < *q)
            }) {
                return Ok(Attempt::Done(PlaceOutcome::OutOfStock {
                    sku_id: sku_id.clone(),
                    location_id: loc.clone(),
                }));
            }
            // Short at the time of the write but not any more: worth another attempt.
            return Ok(Attempt::Retry);
        }
        if is_transient(reasons) {
            return Ok(Attempt::Retry);
        }
        Err(StoreError::Unavailable(format!(
            "placement transaction cancelled: [{}]",
            reason_codes(reasons)
        )))
    }

    async fn read_sku_item(&self, sku_id: &str) -> Result<Option<Item>, StoreError> {
        get_consistent(&self.client, &self.catalog_table, sku_key(sku_id)).await
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        get_consistent(&self.client, &self.orders_table, key).await
    }
}

static LOG_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Sort key of a new log entry: append time first; the process-wide sequence orders entries of the
/// same nanosecond, the random tail keeps two writers apart.
fn log_sk(now: DateTime<Utc>) -> String {
    let seq = LOG_SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let tail = uuid::Uuid::new_v4().as_u128() as u32;
    format!("{LOG_PREFIX}{}#{seq:016x}{tail:08x}", fixed_time(now))
}

#[async_trait]
impl OrderStore for DynamoOrders {
    async fn create_reserved(&self, order: &Order) -> Result<PlaceOutcome, StoreError> {
        let holds = holds_by_sku(&aggregate_holds(&order.lines)?);
        let actions = create_actions(&self.orders_table, &self.catalog_table, order, &holds)?;
        for attempt in 0..MAX_ATTEMPTS {
            match self.transact(&actions).await? {
                Ok(()) => {
                    let mut created = order.clone();
                    created.version = 0;
                    return Ok(PlaceOutcome::Created(created));
                }
                Err(reasons) => {
                    match self
                        .explain_placement_failure(order, &holds, &reasons)
                        .await?
                    {
                        Attempt::Done(outcome) => return Ok(outcome),
                        Attempt::Retry => backoff(attempt).await,
                    }
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "placement of order {} kept conflicting with concurrent placements",
            order.order_id
        )))
    }

    async fn get(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        self.get_item(pk_sk(order_pk(order_id), ORDER_SK))
            .await?
            .map(|item| order_from_item(&item))
            .transpose()
    }

    async fn get_by_marketplace_id(
        &self,
        an: &str,
        marketplace_order_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        let Some(mapping) = self
            .get_item(pk_sk(mapping_pk(an, marketplace_order_id), MAPPING_SK))
            .await?
        else {
            return Ok(None);
        };
        self.get(get_s(&mapping, "orderId")?).await
    }

    async fn save_emitting(
        &self,
        order: &Order,
        effect: StockEffect,
        events: &[OrderEvent],
    ) -> Result<SaveOutcome, StoreError> {
        let outbox = self.outbox_for(events)?.map(|table| (table, events));
        let holds = match effect {
            StockEffect::None => Vec::new(),
            StockEffect::Release | StockEffect::Ship => {
                holds_by_sku(&aggregate_holds(&order.lines)?)
            }
        };
        let actions = save_actions(
            &self.orders_table,
            &self.catalog_table,
            order,
            effect,
            &holds,
            outbox,
        )?;
        for attempt in 0..MAX_ATTEMPTS {
            match self.transact(&actions).await? {
                Ok(()) => {
                    let mut saved = order.clone();
                    saved.version = order.version + 1;
                    return Ok(SaveOutcome::Saved(saved));
                }
                Err(reasons) if reason_code(&reasons, 0) == CONDITION_FAILED => {
                    return Ok(SaveOutcome::Conflict);
                }
                Err(reasons)
                    if reasons
                        .iter()
                        .skip(1)
                        .any(|r| r.code() == Some(CONDITION_FAILED)) =>
                {
                    return Err(StoreError::Corrupt(format!(
                        "order {} holds stock at a location missing from the catalog",
                        order.order_id
                    )));
                }
                Err(reasons) if is_transient(&reasons) => backoff(attempt).await,
                Err(reasons) => {
                    return Err(StoreError::Unavailable(format!(
                        "order save transaction cancelled: [{}]",
                        reason_codes(&reasons)
                    )));
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "save of order {} kept conflicting with concurrent writes",
            order.order_id
        )))
    }

    async fn emit(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        let Some(table) = self.outbox_for(events)? else {
            return Ok(());
        };
        let written_at = Utc::now();
        for event in events {
            crate::outbox::put_if_absent(&self.client, table, event, written_at).await?;
        }
        Ok(())
    }

    async fn expired_reservations(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        let mut due = Vec::new();
        let mut start = None;
        // `~` sorts after `#`, so every `{now}#{orderId}` key is included.
        let upper = format!("{}~", fixed_time(now));
        while due.len() < limit {
            let page_size = i32::try_from(limit - due.len()).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(&self.orders_table)
                .index_name(GSI1)
                .key_condition_expression("#p = :p AND #s <= :now")
                .expression_attribute_names("#p", "gsi1pk")
                .expression_attribute_names("#s", "gsi1sk")
                .expression_attribute_values(":p", s(GSI1_RESERVED))
                .expression_attribute_values(":now", s(&upper))
                .limit(page_size)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in out.items() {
                let order = order_from_item(item)?;
                // The index is eventually consistent: skip what has moved on since.
                if order.status == OrderStatus::Reserved && order.expires_at <= now {
                    due.push(order);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        due.truncate(limit);
        Ok(due)
    }

    async fn append_log(&self, order_id: &str, entry: &LogEntry) -> Result<(), StoreError> {
        let mut item = pk_sk(order_pk(order_id), &log_sk(Utc::now()));
        item.insert("data".into(), s(encode(entry)?));
        super::order_log::append(
            &self.client,
            &self.orders_table,
            order_pk(order_id),
            LOG_PREFIX,
            item,
        )
        .await
    }

    async fn read_log(&self, order_id: &str) -> Result<Vec<LogEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.orders_table)
                .key_condition_expression("#p = :p AND begins_with(#s, :log)")
                .expression_attribute_names("#p", "pk")
                .expression_attribute_names("#s", "sk")
                .expression_attribute_values(":p", s(order_pk(order_id)))
                .expression_attribute_values(":log", s(LOG_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in out.items() {
                entries.push(decode(get_s(item, "data")?)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(entries);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::expr::placeholder_problems;
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::TimeZone;
    use domain::Cents;
    use domain::order::OrderLine;

    fn line(index: usize, sku: &str, loc: &str, quantity: i64) -> OrderLine {
        OrderLine {
            index,
            sku_id: sku.into(),
            quantity,
            unit_price: Cents(1000),
            freight: Cents(0),
            selected_sla: None,
            location_id: loc.into(),
            lock_ttl: None,
            shipping_estimate: None,
            delivery_window: None,
        }
    }

    fn order(lines: Vec<OrderLine>) -> Order {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        Order {
            order_id: "o-1".into(),
            an: "mkp".into(),
            sc: None,
            marketplace_order_id: "m-1".into(),
            marketplace_order_group: None,
            marketplace_services_endpoint: None,
            marketplace_payment_value: Cents(0),
            status: OrderStatus::Reserved,
            lines,
            address: None,
            customer: None,
            created_at: at,
            expires_at: at,
            authorized: None,
            canceled: None,
            pending_cancellation: None,
            seller_cancel: None,
            value: None,
            version: 0,
        }
    }

    fn holds(o: &Order) -> SkuHolds {
        holds_by_sku(&aggregate_holds(&o.lines).unwrap())
    }

    /// Every expression of every action has exactly the placeholders it defines (real DynamoDB
    /// rejects undefined and unused ones; moto answers 500 or accepts them).
    fn assert_placeholders_exact(actions: &[TransactWriteItem]) {
        for a in actions {
            let problems = if let Some(p) = a.put() {
                placeholder_problems(
                    &[p.condition_expression()],
                    p.expression_attribute_names(),
                    p.expression_attribute_values(),
                )
            } else if let Some(u) = a.update() {
                placeholder_problems(
                    &[Some(u.update_expression()), u.condition_expression()],
                    u.expression_attribute_names(),
                    u.expression_attribute_values(),
                )
            } else {
                vec!["unexpected action kind".into()]
            };
            assert!(problems.is_empty(), "{problems:?} in {a:?}");
        }
    }

    #[test]
    fn placement_is_one_update_per_sku_with_locations_aggregated() {
        let o = order(vec![
            line(0, "a", "w1", 1),
            line(1, "b", "w1", 2),
            line(2, "a", "w1", 3),
            line(3, "a", "w2", 1),
        ]);
        let actions = create_actions("orders", "catalog", &o, &holds(&o)).unwrap();
        assert_eq!(actions.len(), 4);
        assert!(actions[0].put().is_some() && actions[1].put().is_some());
        let update_a = actions[2].update().unwrap();
        assert_eq!(update_a.key()["pk"], s("SKU#a"));
        let values = update_a.expression_attribute_values().unwrap();
        let mut quantities: Vec<&AttributeValue> = values.values().collect();
        quantities.sort_by_key(|v| format!("{v:?}"));
        assert_eq!(quantities, vec![&n(1), &n(4)]);
        assert_placeholders_exact(&actions);
    }

    #[test]
    fn placement_refuses_more_than_100_transaction_actions() {
        let lines = |count: usize| {
            (0..count)
                .map(|i| line(i, &format!("sku-{i}"), "w1", 1))
                .collect::<Vec<_>>()
        };
        let fits = order(lines(98));
        assert_eq!(
            create_actions("o", "c", &fits, &holds(&fits))
                .unwrap()
                .len(),
            100
        );
        let too_many = order(lines(99));
        assert!(matches!(
            create_actions("o", "c", &too_many, &holds(&too_many)),
            Err(StoreError::Limit(_))
        ));
        // Many lines of few SKUs still fit: the limit counts SKU items, not lines.
        let many_lines: Vec<OrderLine> = (0..300).map(|i| line(i, "x", "w1", 1)).collect();
        let o = order(many_lines);
        assert_eq!(create_actions("o", "c", &o, &holds(&o)).unwrap().len(), 3);
    }

    #[test]
    fn save_refuses_more_than_100_transaction_actions() {
        let lines: Vec<OrderLine> = (0..100)
            .map(|i| line(i, &format!("sku-{i}"), "w1", 1))
            .collect();
        let o = order(lines);
        assert!(matches!(
            save_actions("o", "c", &o, StockEffect::Release, &holds(&o), None),
            Err(StoreError::Limit(_))
        ));
        let o = order(o.lines[..99].to_vec());
        assert_eq!(
            save_actions("o", "c", &o, StockEffect::Release, &holds(&o), None)
                .unwrap()
                .len(),
            100
        );
    }

    #[test]
    fn save_expressions_define_exactly_what_they_use() {
        let o = order(vec![line(0, "a", "w1", 1), line(1, "a", "w2", 2)]);
        for effect in [StockEffect::None, StockEffect::Release, StockEffect::Ship] {
            let actions = save_actions("o", "c", &o, effect, &holds(&o), None).unwrap();
            let expected = if effect == StockEffect::None { 1 } else { 2 };
            assert_eq!(actions.len(), expected);
            assert_placeholders_exact(&actions);
        }
    }

    #[test]
    fn the_outbox_put_rides_in_the_save_transaction_and_counts_towards_its_limit() {
        let event = |kind| domain::lifecycle::order_event(&order(vec![]), kind);
        let events = [event(domain::ports::OrderEventKind::Canceled)];
        let o = order(vec![line(0, "a", "w1", 1)]);
        for effect in [StockEffect::None, StockEffect::Release] {
            let actions =
                save_actions("o", "c", &o, effect, &holds(&o), Some(("x", &events))).unwrap();
            let put = actions
                .last()
                .and_then(|a| a.put())
                .expect("the outbox Put");
            assert_eq!(put.table_name(), "x");
            assert_eq!(put.item()["pk"], s("o-1:order.canceled"));
            assert!(
                put.condition_expression().is_none(),
                "replaces a pending record"
            );
            assert_eq!(actions[0].put().map(|p| p.table_name()), Some("o"));
        }
        let lines: Vec<OrderLine> = (0..99)
            .map(|i| line(i, &format!("sku-{i}"), "w1", 1))
            .collect();
        let full = order(lines);
        assert!(matches!(
            save_actions(
                "o",
                "c",
                &full,
                StockEffect::Release,
                &holds(&full),
                Some(("x", &events))
            ),
            Err(StoreError::Limit(_))
        ));
    }

    #[test]
    fn only_reserved_orders_carry_the_index_keys() {
        let mut o = order(vec![line(0, "a", "w1", 1)]);
        let item = order_item(&o, 3).unwrap();
        assert_eq!(
            item["gsi1sk"],
            s("2026-01-02T03:04:05.000000000Z#o-1".to_string())
        );
        assert_eq!(item["version"], n(3));
        o.status = OrderStatus::Authorized;
        let item = order_item(&o, 4).unwrap();
        assert!(!item.contains_key("gsi1pk") && !item.contains_key("gsi1sk"));
        assert_eq!(order_from_item(&item).unwrap().version, 4);
    }

    /// An order item as the adapter wrote it before stored shapes were versioned (the shape
    /// itself is pinned by `storage-format`'s golden tests; this is the item around it).
    #[test]
    fn an_order_item_written_before_versioning_reads_and_is_written_back_versioned() {
        let legacy = r#"{"orderId":"o-1","an":"mkp","sc":null,"marketplaceOrderId":"m-1","marketplaceOrderGroup":null,"marketplaceServicesEndpoint":null,"marketplacePaymentValue":0,"status":"RESERVED","lines":[{"index":0,"skuId":"A","quantity":2,"unitPrice":1000,"freight":0,"selectedSla":null,"locationId":"W1","lockTtl":null,"shippingEstimate":null,"deliveryWindow":null}],"address":null,"customer":null,"createdAt":"2026-01-02T03:04:05Z","expiresAt":"2026-01-02T03:04:05Z","authorized":null,"canceled":null,"pendingCancellation":null,"version":0}"#;
        let mut item = pk_sk(order_pk("o-1"), ORDER_SK);
        item.insert("data".into(), s(legacy));
        item.insert("version".into(), n(7));
        item.insert("status".into(), s("RESERVED"));
        let read = order_from_item(&item).unwrap();
        let mut expected = order(vec![line(0, "A", "W1", 2)]);
        expected.version = 7;
        assert_eq!(read, expected);

        let written = order_item(&read, 8).unwrap();
        let AttributeValue::S(data) = &written["data"] else {
            panic!("data is not a string");
        };
        assert!(
            data.starts_with(r#"{"schemaVersion":1,"orderId":"o-1","#),
            "{data}"
        );
        assert_eq!(order_from_item(&written).unwrap().version, 8);
    }

    #[test]
    fn a_log_entry_item_written_before_versioning_reads() {
        let legacy =
            r#"{"at":"2026-01-02T03:04:05Z","step":"placement","outcome":"Alert","detail":"d"}"#;
        let entry: LogEntry = decode(legacy).unwrap();
        assert_eq!(
            (entry.step.as_str(), entry.outcome),
            ("placement", domain::order::Outcome::Alert)
        );
    }

    #[test]
    fn fixed_time_sorts_like_the_instants() {
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let b = a + chrono::Duration::nanoseconds(1);
        let c = a + chrono::Duration::seconds(1);
        assert!(fixed_time(a) < fixed_time(b) && fixed_time(b) < fixed_time(c));
        assert_eq!(fixed_time(a).len(), fixed_time(c).len());
        assert!(format!("{}#zzz", fixed_time(a)) < format!("{}~", fixed_time(a)));
    }

    #[test]
    fn log_keys_of_one_process_sort_in_append_order() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let keys: Vec<String> = (0..50).map(|_| log_sk(at)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
