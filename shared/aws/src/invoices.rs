//! DynamoDB adapter of [`InvoiceStore`]: the invoices table.
//!
//! # Table layout (mirrored by `template.yaml` and [`create_invoices_table`])
//!
//! Key `orderId` (S, hash) + `invoiceNumber` (S, range), on-demand, no index.
//!
//! | attribute       | type | meaning |
//! |-----------------|------|---------|
//! | `orderId`       | S    | our order id (`sellerOrderId`) |
//! | `invoiceNumber` | S    | the ERP's invoice number, as sent to OMS |
//! | `data`          | S    | the whole [`InvoiceRecord`], JSON (invoice as sent, tracking, events sent) |
//! | `version`       | N    | optimistic-concurrency counter |
//! | `kind`, `state` | S    | `Output`/`Input`, `PENDING`/`SENT`/`REJECTED`: for operators reading the table |
//! | `invoiceValue`  | N    | cents, same reason |
//!
//! Access patterns (dispatcher only):
//! - `create_once` → PutItem conditioned on `attribute_not_exists(orderId)`; when the condition
//!   fails, a consistent GetItem returns the existing record.
//! - `get` → consistent GetItem.
//! - `list_by_order` → consistent Query `orderId = :id` (pages followed), sorted by invoice number.
//! - `save` → PutItem conditioned on `version = :expected`.
//!
//! An `embeddedInvoice` XML makes the item large; DynamoDB's 400 KB item limit caps it (the SQS
//! message that carried it is capped at 256 KiB, so it fits).

use crate::dynamo::{Item, get_consistent, put_if, record_from_item, record_item, sdk_error};
use crate::schema::create_keyed_table;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::invoice_store::{CreateOutcome, InvoiceStore, RecordSave};
use domain::invoicing::{InvoiceRecord, SendState};
use domain::ports::StoreError;
use std::collections::HashMap;

const PK: &str = "orderId";
const SK: &str = "invoiceNumber";

#[derive(Debug, Clone)]
pub struct DynamoInvoices {
    client: Client,
    table: String,
}

impl DynamoInvoices {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoInvoices {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(order_id: &str, invoice_number: &str) -> Item {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(order_id.to_string())),
            (
                SK.to_string(),
                AttributeValue::S(invoice_number.to_string()),
            ),
        ])
    }

    /// PutItem under `condition`; `false` when the condition failed.
    async fn put(
        &self,
        record: &InvoiceRecord,
        condition: &str,
        values: Option<Item>,
    ) -> Result<bool, StoreError> {
        let item = to_item(record)?;
        put_if(&self.client, &self.table, item, condition, None, values).await
    }
}

fn state_name(s: SendState) -> &'static str {
    match s {
        SendState::Pending => "PENDING",
        SendState::Sent => "SENT",
        SendState::Rejected => "REJECTED",
    }
}

fn to_item(r: &InvoiceRecord) -> Result<Item, StoreError> {
    let key = DynamoInvoices::key(&r.order_id, r.number());
    let mut item = record_item(key, r, r.version)?;
    item.insert(
        "kind".into(),
        AttributeValue::S(r.invoice.kind.as_str().into()),
    );
    item.insert(
        "state".into(),
        AttributeValue::S(state_name(r.state).into()),
    );
    item.insert(
        "invoiceValue".into(),
        AttributeValue::N(r.invoice.invoice_value.value().to_string()),
    );
    Ok(item)
}

fn from_item(item: &Item) -> Result<InvoiceRecord, StoreError> {
    record_from_item(item, "invoice", |r: &mut InvoiceRecord| &mut r.version)
}

#[async_trait]
impl InvoiceStore for DynamoInvoices {
    async fn create_once(&self, record: &InvoiceRecord) -> Result<CreateOutcome, StoreError> {
        let mut fresh = record.clone();
        fresh.version = 0;
        if self
            .put(&fresh, "attribute_not_exists(orderId)", None)
            .await?
        {
            return Ok(CreateOutcome::Created(fresh));
        }
        match self.get(&record.order_id, record.number()).await? {
            Some(existing) => Ok(CreateOutcome::Existing(existing)),
            None => Err(StoreError::Unavailable(
                "invoice record vanished between a failed create and the read".into(),
            )),
        }
    }

    async fn get(
        &self,
        order_id: &str,
        invoice_number: &str,
    ) -> Result<Option<InvoiceRecord>, StoreError> {
        get_consistent(
            &self.client,
            &self.table,
            Self::key(order_id, invoice_number),
        )
        .await?
        .as_ref()
        .map(from_item)
        .transpose()
    }

    async fn list_by_order(&self, order_id: &str) -> Result<Vec<InvoiceRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("orderId = :id")
                .expression_attribute_values(":id", AttributeValue::S(order_id.to_string()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in out.items() {
                records.push(from_item(item)?);
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(records)
    }

    async fn save(&self, record: &InvoiceRecord) -> Result<RecordSave, StoreError> {
        let mut next = record.clone();
        next.version = record.version + 1;
        let values = HashMap::from([(
            ":expected".to_string(),
            AttributeValue::N(record.version.to_string()),
        )]);
        if self.put(&next, "version = :expected", Some(values)).await? {
            Ok(RecordSave::Saved(next))
        } else {
            Ok(RecordSave::Conflict)
        }
    }
}

/// Creates the invoices table as `template.yaml` declares it (tests and tools).
pub async fn create_invoices_table(
    client: &Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    create_keyed_table(client, name, PK, SK).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::invoice_store::contract::sample;

    #[test]
    fn items_round_trip_and_the_version_attribute_wins() {
        let mut r = sample("SO-1", "NFe-1");
        r.version = 3;
        let mut item = to_item(&r).unwrap();
        assert_eq!(item["orderId"], AttributeValue::S("SO-1".into()));
        assert_eq!(item["invoiceNumber"], AttributeValue::S("NFe-1".into()));
        assert_eq!(item["state"], AttributeValue::S("PENDING".into()));
        assert_eq!(from_item(&item).unwrap(), r);
        item.insert("version".into(), AttributeValue::N("4".into()));
        assert_eq!(from_item(&item).unwrap().version, 4);
    }
}
