//! Adapters of the import ports: [`DynamoImports`] (`ImportStore` + `NotificationStore` over the
//! imports table), [`SqsImportQueue`] (the import queue's delayed self-messages) and
//! [`SqsImportEvents`] (invoice notifications to the ERP's order-events queue).
//!
//! # Imports table (mirrored by `template.yaml` and [`create_imports_table`])
//!
//! Key `pk` (S) + `sk` (S), on-demand, no index.
//!
//! | item         | `pk`                                      | `sk`                 | other attributes |
//! |--------------|-------------------------------------------|----------------------|------------------|
//! | import       | `IMPORT#{affiliateId}#{marketplaceOrderId}` | `IMPORT`           | `data` (S): the [`ImportRecord`], JSON (the order, steps, invoices); `version` (N); `step` (S); `vtexOrderId` (S) once placed; `updatedAt` (S) |
//! | VTEX id      | `VTEX#{vtexOrderId}`                      | `MAP`                | `affiliateId` (S), `marketplaceOrderId` (S) |
//! | notification | `MSE#{orderId}`                           | `NOTE#{fingerprint}` | `data` (S): the [`MseNotification`], JSON; `published` (BOOL) |
//!
//! Access patterns:
//! - worker, `create_once` → PutItem import conditioned on `attribute_not_exists(pk)`; when the
//!   condition fails, a consistent GetItem returns the existing record.
//! - worker, `get` → consistent GetItem.
//! - worker, `save` → PutItem conditioned on `version = :expected`; once the record carries VTEX's
//!   order id, ONE TransactWriteItems of that Put and an unconditional Put of the `VTEX#` item (the
//!   same value every time), so the lookup below never misses a placed import.
//! - mse, `find_by_vtex_order_id` → consistent GetItem `VTEX#`, then consistent GetItem import.
//! - mse, `create_notification` → PutItem conditioned on `attribute_not_exists(pk)`, else a
//!   consistent GetItem; `mark_published` → UpdateItem `SET published = true`.
//!
//! Customer data (the order) lives in `data`, encrypted at rest like the orders table. An import
//! with many invoices carrying `embeddedInvoice` XML grows towards DynamoDB's 400 KB item limit; a
//! save beyond it fails (`StoreError::Unavailable`) and the message is retried, then parked.

use crate::dynamo::{
    Item, build_error, decode, encode, get_consistent, pk_sk, put_if, record_from_item,
    record_item, sdk_error,
};
use crate::schema::create_keyed_table;
use crate::sqs_common::{EventQueue, MAX_DELAY_SECS, sqs_error, text_attribute};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use domain::import::{
    ImportCreate, ImportEvents, ImportKey, ImportMessage, ImportQueue, ImportRecord, ImportSave,
    ImportStore, InvoiceNotified, MseNotification, NotificationCreate, NotificationStore,
};
use domain::ports::StoreError;
use std::collections::HashMap;
use std::time::Duration;

const PK: &str = "pk";
const SK: &str = "sk";
const IMPORT_SK: &str = "IMPORT";
const MAP_SK: &str = "MAP";

#[derive(Debug, Clone)]
pub struct DynamoImports {
    client: Client,
    table: String,
}

impl DynamoImports {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoImports {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get_item(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        get_consistent(&self.client, &self.table, pk_sk(pk, sk)).await
    }

    /// PutItem under `condition`; `false` when the condition failed.
    async fn put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<bool, StoreError> {
        put_if(&self.client, &self.table, item, condition, None, values).await
    }
}

fn import_pk(k: &ImportKey) -> String {
    format!("IMPORT#{}#{}", k.affiliate_id, k.marketplace_order_id)
}

fn vtex_pk(vtex_order_id: &str) -> String {
    format!("VTEX#{vtex_order_id}")
}

fn note_pk(order_id: &str) -> String {
    format!("MSE#{order_id}")
}

fn note_sk(fingerprint: &str) -> String {
    format!("NOTE#{fingerprint}")
}

fn import_item(r: &ImportRecord) -> Result<Item, StoreError> {
    let mut item = record_item(pk_sk(import_pk(&r.key), IMPORT_SK), r, r.version)?;
    item.insert("step".into(), AttributeValue::S(r.step.as_str().into()));
    item.insert(
        "updatedAt".into(),
        AttributeValue::S(r.updated_at.to_rfc3339()),
    );
    if let Some(id) = &r.vtex_order_id {
        item.insert("vtexOrderId".into(), AttributeValue::S(id.clone()));
    }
    Ok(item)
}

fn import_from_item(item: &Item) -> Result<ImportRecord, StoreError> {
    record_from_item(item, "import", |r: &mut ImportRecord| &mut r.version)
}

fn map_item(vtex_order_id: &str, k: &ImportKey) -> Item {
    let mut item = pk_sk(vtex_pk(vtex_order_id), MAP_SK);
    item.insert(
        "affiliateId".into(),
        AttributeValue::S(k.affiliate_id.clone()),
    );
    item.insert(
        "marketplaceOrderId".into(),
        AttributeValue::S(k.marketplace_order_id.clone()),
    );
    item
}

fn note_item(n: &MseNotification) -> Result<Item, StoreError> {
    let data = encode(n)?;
    let mut item = pk_sk(note_pk(&n.order_id), &note_sk(&n.fingerprint));
    item.insert("data".into(), AttributeValue::S(data));
    item.insert("published".into(), AttributeValue::Bool(n.published));
    Ok(item)
}

fn note_from_item(item: &Item) -> Result<MseNotification, StoreError> {
    let Some(AttributeValue::S(data)) = item.get("data") else {
        return Err(StoreError::Corrupt("notification item has no data".into()));
    };
    let mut n: MseNotification = decode(data)?;
    if let Some(AttributeValue::Bool(b)) = item.get("published") {
        n.published = *b;
    }
    Ok(n)
}

fn put_action(
    item: Item,
    table: &str,
    condition: Option<(&str, Item)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if let Some((expr, values)) = condition {
        put = put
            .condition_expression(expr)
            .set_expression_attribute_values(Some(values));
    }
    let put = put.build().map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[async_trait]
impl ImportStore for DynamoImports {
    async fn create_once(&self, record: &ImportRecord) -> Result<ImportCreate, StoreError> {
        let mut fresh = record.clone();
        fresh.version = 0;
        if self
            .put(import_item(&fresh)?, "attribute_not_exists(pk)", None)
            .await?
        {
            return Ok(ImportCreate::Created(fresh));
        }
        match self.get(&record.key).await? {
            Some(existing) => Ok(ImportCreate::Existing(existing)),
            None => Err(StoreError::Unavailable(
                "import record vanished between a failed create and the read".into(),
            )),
        }
    }

    async fn get(&self, key: &ImportKey) -> Result<Option<ImportRecord>, StoreError> {
        self.get_item(import_pk(key), IMPORT_SK)
            .await?
            .as_ref()
            .map(import_from_item)
            .transpose()
    }

    async fn find_by_vtex_order_id(
        &self,
        vtex_order_id: &str,
    ) -> Result<Option<ImportRecord>, StoreError> {
        let Some(map) = self.get_item(vtex_pk(vtex_order_id), MAP_SK).await? else {
            return Ok(None);
        };
        let text = |k: &str| match map.get(k) {
            Some(AttributeValue::S(s)) => Ok(s.clone()),
            _ => Err(StoreError::Corrupt(format!("VTEX id item has no {k}"))),
        };
        let k = ImportKey::new(text("affiliateId")?, text("marketplaceOrderId")?);
        Ok(self
            .get(&k)
            .await?
            .filter(|r| r.vtex_order_id.as_deref() == Some(vtex_order_id)))
    }

    async fn save(&self, record: &ImportRecord) -> Result<ImportSave, StoreError> {
        let mut next = record.clone();
        next.version = record.version + 1;
        let values = HashMap::from([(
            ":expected".to_string(),
            AttributeValue::N(record.version.to_string()),
        )]);
        let condition = "version = :expected";
        let Some(vtex_id) = &next.vtex_order_id else {
            return Ok(
                if self
                    .put(import_item(&next)?, condition, Some(values))
                    .await?
                {
                    ImportSave::Saved(next)
                } else {
                    ImportSave::Conflict
                },
            );
        };
        let actions = vec![
            put_action(import_item(&next)?, &self.table, Some((condition, values)))?,
            put_action(map_item(vtex_id, &next.key), &self.table, None)?,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        match result {
            Ok(_) => Ok(ImportSave::Saved(next)),
            Err(err) => match err.as_service_error() {
                // Only the record's Put has a condition: a cancellation is a version conflict.
                Some(TransactWriteItemsError::TransactionCanceledException(c))
                    if c.cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed")) =>
                {
                    Ok(ImportSave::Conflict)
                }
                _ => Err(sdk_error("TransactWriteItems", err)),
            },
        }
    }
}

#[async_trait]
impl NotificationStore for DynamoImports {
    async fn create_notification(
        &self,
        n: &MseNotification,
    ) -> Result<NotificationCreate, StoreError> {
        if self
            .put(note_item(n)?, "attribute_not_exists(pk)", None)
            .await?
        {
            return Ok(NotificationCreate::Created(n.clone()));
        }
        match self
            .get_item(note_pk(&n.order_id), &note_sk(&n.fingerprint))
            .await?
        {
            Some(item) => Ok(NotificationCreate::Existing(note_from_item(&item)?)),
            None => Err(StoreError::Unavailable(
                "notification vanished between a failed create and the read".into(),
            )),
        }
    }

    async fn mark_published(&self, order_id: &str, fingerprint: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(pk_sk(note_pk(order_id), &note_sk(fingerprint))))
            .update_expression("SET published = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }
}

/// Creates the imports table as `template.yaml` declares it (tests and tools).
pub async fn create_imports_table(
    client: &Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    create_keyed_table(client, name, PK, SK).await
}

// ----------------------------------------------------------------------------------- SQS

/// The import queue (a **standard** queue: FIFO queues have no per-message delay). A wake-up
/// further away than 15 minutes arrives early; the worker then schedules the next hop.
#[derive(Debug, Clone)]
pub struct SqsImportQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsImportQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsImportQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

/// `DelaySeconds` for `delay`: whole seconds, rounded up (never early by a fraction), capped.
fn delay_seconds(delay: Duration) -> i32 {
    let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    i32::try_from(secs.min(MAX_DELAY_SECS)).unwrap_or(0)
}

#[async_trait]
impl ImportQueue for SqsImportQueue {
    async fn schedule(&self, message: &ImportMessage, delay: Duration) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.to_json())
            .delay_seconds(delay_seconds(delay))
            .message_attributes("type", text_attribute(message.command.kind())?)
            .send()
            .await
            .map_err(|e| sqs_error("SendMessage (import)", e))?;
        Ok(())
    }
}

/// Invoice notifications for the ERP, on the order-events queue. On a FIFO queue the VTEX order id
/// is the `MessageGroupId` and the event id the `MessageDeduplicationId`.
#[derive(Debug, Clone)]
pub struct SqsImportEvents {
    queue: EventQueue,
}

impl SqsImportEvents {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsImportEvents {
            queue: EventQueue::new(client, queue_url.into()),
        }
    }
}

#[async_trait]
impl ImportEvents for SqsImportEvents {
    async fn publish_invoice_notified(&self, event: &InvoiceNotified) -> Result<(), StoreError> {
        self.queue
            .send(
                "SendMessage (order events)",
                event.to_json(),
                &event.kind,
                &event.order_id,
                &event.event_id,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::import::contract::sample;

    #[test]
    fn import_items_round_trip_and_the_version_attribute_wins() {
        let mut r = sample("x");
        r.version = 3;
        r.placed("EXT-1", r.created_at);
        let mut item = import_item(&r).unwrap();
        assert_eq!(
            item["pk"],
            AttributeValue::S("IMPORT#EXT#2630580124-x".into())
        );
        assert_eq!(item["step"], AttributeValue::S("placed".into()));
        assert_eq!(item["vtexOrderId"], AttributeValue::S("EXT-1".into()));
        assert_eq!(import_from_item(&item).unwrap(), r);
        item.insert("version".into(), AttributeValue::N("4".into()));
        assert_eq!(import_from_item(&item).unwrap().version, 4);
    }

    #[test]
    fn delays_round_up_and_cap_at_fifteen_minutes() {
        assert_eq!(delay_seconds(Duration::ZERO), 0);
        assert_eq!(delay_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(delay_seconds(Duration::from_secs(1800)), 900);
    }
}
