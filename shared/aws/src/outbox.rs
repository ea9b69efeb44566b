//! The outbox table: one item per undelivered ERP event, written in the order save's
//! `TransactWriteItems` ([`crate::dynamo::DynamoOrders::with_outbox`]), read and deleted by the
//! relay ([`DynamoOutbox`]).
//!
//! Item: `pk` = the event id; `event` (S) = the event exactly as the ERP queue receives it (the
//! serde form of `OrderEvent`, versioned by its own `version` field); `orderId`; `writtenAt` (S,
//! RFC 3339 with nanoseconds: the delete condition); `gsi1pk` = `PENDING` and
//! `gsi1sk` = `{writtenAt}#{eventId}`, the index the re-drive reads oldest first. The table's stream
//! (keys only) wakes the relay Lambda for each write; a re-drive on a schedule catches the rest.

use crate::dynamo::{Item, build_error, get_consistent, get_s, s, sdk_error};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::outbox::{Outbox, OutboxRecord};
use domain::ports::{OrderEvent, StoreError};
use std::collections::HashMap;

/// The index of pending records by age.
pub const OUTBOX_GSI: &str = "gsi1";
const PENDING: &str = "PENDING";

fn fixed_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The outbox item of `event`, written at `written_at`.
pub(crate) fn outbox_item(
    event: &OrderEvent,
    written_at: DateTime<Utc>,
) -> Result<Item, StoreError> {
    let body = serde_json::to_string(event)
        .map_err(|e| StoreError::Corrupt(format!("order event cannot be serialized: {e}")))?;
    let at = fixed_time(written_at);
    Ok(HashMap::from([
        ("pk".to_string(), s(&event.event_id)),
        ("event".to_string(), s(body)),
        ("orderId".to_string(), s(&event.order_id)),
        ("gsi1pk".to_string(), s(PENDING)),
        ("gsi1sk".to_string(), s(format!("{at}#{}", event.event_id))),
        ("writtenAt".to_string(), s(at)),
    ]))
}

/// The unconditional Put of `event` in a save's transaction: a pending record of the same id is
/// replaced (the state change owes the event as it builds it now).
pub(crate) fn outbox_put(
    table: &str,
    event: &OrderEvent,
    written_at: DateTime<Utc>,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(outbox_item(event, written_at)?))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Writes `event` unless a record of its id is pending (a replay's re-emit).
pub(crate) async fn put_if_absent(
    client: &Client,
    table: &str,
    event: &OrderEvent,
    written_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(outbox_item(event, written_at)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(PutItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(sdk_error("PutItem", err)),
    }
}

fn record_from_item(item: &Item) -> Result<OutboxRecord, StoreError> {
    let event: OrderEvent = serde_json::from_str(get_s(item, "event")?)
        .map_err(|e| StoreError::Corrupt(format!("outbox event does not parse: {e}")))?;
    let at = get_s(item, "writtenAt")?;
    let written_at = DateTime::parse_from_rfc3339(at)
        .map_err(|e| StoreError::Corrupt(format!("outbox writtenAt {at:?}: {e}")))?
        .with_timezone(&Utc);
    Ok(OutboxRecord { event, written_at })
}

/// The relay's side of the outbox table.
#[derive(Debug, Clone)]
pub struct DynamoOutbox {
    client: Client,
    table: String,
}

impl DynamoOutbox {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoOutbox {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl Outbox for DynamoOutbox {
    async fn pending(
        &self,
        written_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        while out.len() < limit {
            let page = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OUTBOX_GSI)
                .expression_attribute_names("#p", "gsi1pk")
                .expression_attribute_values(":p", s(PENDING))
                .limit(page)
                .set_exclusive_start_key(start);
            query = match written_before {
                // `~` sorts after `#`: every `{writtenAt}#{eventId}` at the bound is included.
                Some(before) => query
                    .key_condition_expression("#p = :p AND #s <= :before")
                    .expression_attribute_names("#s", "gsi1sk")
                    .expression_attribute_values(":before", s(format!("{}~", fixed_time(before)))),
                None => query.key_condition_expression("#p = :p"),
            };
            let resp = query.send().await.map_err(|e| sdk_error("Query", e))?;
            for item in resp.items() {
                out.push(record_from_item(item)?);
            }
            start = resp.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn record(&self, event_id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        let key = HashMap::from([("pk".to_string(), s(event_id))]);
        get_consistent(&self.client, &self.table, key)
            .await?
            .map(|item| record_from_item(&item))
            .transpose()
    }

    async fn mark_delivered(&self, record: &OutboxRecord) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(record.event_id()))
            .condition_expression("#w = :w")
            .expression_attribute_names("#w", "writtenAt")
            .expression_attribute_values(":w", s(fixed_time(record.written_at)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(sdk_error("DeleteItem", err)),
        }
    }
}
