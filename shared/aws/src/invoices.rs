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
//! Beside an order's records, one **totals item** under the invoice number [`TOTALS_SK`] (`#`
//! is refused in invoice numbers, so no record can take it): `output` and `input` (N), the
//! values of the order's live records in cents ([`InvoicedSums`]). Every write that changes what
//! counts moves it in the same `TransactWriteItems`.
//!
//! Access patterns (dispatcher only):
//! - `create_once` → consistent GetItem of the totals item, then TransactWriteItems: Put of the
//!   record conditioned on `attribute_not_exists(orderId)` + Update of the totals item `ADD
//!   #k :value` conditioned on `#k <= :bound`, `bound = limit - value` (a condition cannot add).
//!   An order with no totals item yet (records written before it) gets it Put, derived from a
//!   consistent Query of its records, conditioned on `attribute_not_exists(orderId)`. A
//!   cancellation says which condition failed: the record's (Existing, read back), the bound's
//!   (OverLimit), or a racing writer's (try again).
//! - `get` → consistent GetItem.
//! - `list_by_order` → consistent Query `orderId = :id` (pages followed), sorted by invoice number,
//!   the totals item left out.
//! - `save` → PutItem conditioned on `version = :expected`; when the tally moves the sums, the same
//!   Put in a TransactWriteItems with the totals item's Update (a claim bounded as a create).
//! - `invoiced` → consistent GetItem of the totals item (derived from the records when missing).
//!
//! An `embeddedInvoice` XML makes the item large; DynamoDB's 400 KB item limit caps it (the SQS
//! message that carried it is capped at 256 KiB, so it fits).

use crate::dynamo::{
    Item, backoff, build_error, get_consistent, get_n, put_if, record_from_item, record_item,
    sdk_error,
};
use crate::schema::create_keyed_table;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem, Update};
use domain::invoice_store::{CreateOutcome, InvoiceStore, InvoicedSums, RecordSave, Tally};
use domain::invoicing::{InvoiceRecord, InvoiceType, SendState};
use domain::money::Cents;
use domain::ports::StoreError;
use std::collections::HashMap;

const PK: &str = "orderId";
const SK: &str = "invoiceNumber";
/// The sort key of an order's totals item.
pub const TOTALS_SK: &str = "#totals";
/// Transactions cancelled by a racing writer before giving up with `Unavailable`.
const MAX_ATTEMPTS: u32 = 12;

/// The totals attribute of `kind`.
fn sum_attr(kind: InvoiceType) -> &'static str {
    match kind {
        InvoiceType::Output => "output",
        InvoiceType::Input => "input",
    }
}

/// How one transaction ended.
enum Txn {
    Done,
    /// Cancelled: the reasons, one per action, in order.
    Cancelled(Vec<CancellationReason>),
}

fn failed(reasons: &[CancellationReason], i: usize) -> bool {
    reasons
        .get(i)
        .is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
}

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

    /// The order's totals item as stored, if there is one.
    async fn stored_sums(&self, order_id: &str) -> Result<Option<InvoicedSums>, StoreError> {
        let Some(item) =
            get_consistent(&self.client, &self.table, Self::key(order_id, TOTALS_SK)).await?
        else {
            return Ok(None);
        };
        Ok(Some(InvoicedSums {
            output: Cents(get_n(&item, "output")?),
            input: Cents(get_n(&item, "input")?),
        }))
    }

    /// The action that moves the order's sums by `delta` on `kind`: an Update of the totals item
    /// when `stored` (bounded by `limit` when given), else a Put of `derived` moved by `delta`,
    /// conditioned on no totals item having appeared meanwhile.
    fn sums_action(
        &self,
        order_id: &str,
        stored: Option<InvoicedSums>,
        derived: InvoicedSums,
        kind: InvoiceType,
        delta: Cents,
        limit: Option<Cents>,
    ) -> Result<TransactWriteItem, StoreError> {
        if stored.is_none() {
            let mut after = derived;
            after.add(kind, delta);
            let mut item = Self::key(order_id, TOTALS_SK);
            item.insert(
                "output".into(),
                AttributeValue::N(after.output.value().to_string()),
            );
            item.insert(
                "input".into(),
                AttributeValue::N(after.input.value().to_string()),
            );
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(orderId)")
                .build()
                .map_err(build_error)?;
            return Ok(TransactWriteItem::builder().put(put).build());
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(order_id, TOTALS_SK)))
            .update_expression("ADD #k :delta")
            .expression_attribute_names("#k", sum_attr(kind))
            .expression_attribute_values(":delta", AttributeValue::N(delta.value().to_string()));
        update = match limit {
            // DynamoDB conditions cannot add: the sum before must be at most `limit - value`.
            Some(limit) => update
                .condition_expression("#k <= :bound")
                .expression_attribute_values(
                    ":bound",
                    AttributeValue::N((limit - delta).value().to_string()),
                ),
            None => update.condition_expression("attribute_exists(orderId)"),
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(build_error)?)
            .build())
    }

    async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Txn, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Txn::Done),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Ok(Txn::Cancelled(c.cancellation_reasons().to_vec()))
                }
                _ => Err(sdk_error("TransactWriteItems", err)),
            },
        }
    }

    /// The sums and what a missing totals item would be derived from.
    async fn sums_now(
        &self,
        order_id: &str,
    ) -> Result<(Option<InvoicedSums>, InvoicedSums), StoreError> {
        match self.stored_sums(order_id).await? {
            Some(s) => Ok((Some(s), s)),
            None => Ok((
                None,
                InvoicedSums::of_records(&self.list_by_order(order_id).await?),
            )),
        }
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
    async fn create_once(
        &self,
        record: &InvoiceRecord,
        limit: Cents,
    ) -> Result<CreateOutcome, StoreError> {
        let mut fresh = record.clone();
        fresh.version = 0;
        let (kind, value) = (fresh.invoice.kind, fresh.invoice.invoice_value);
        for attempt in 0..MAX_ATTEMPTS {
            let (stored, held) = self.sums_now(&fresh.order_id).await?;
            if fresh.is_live() && !held.fits(&fresh, limit) {
                // A duplicate of a record already counted is Existing, not over the limit.
                if let Some(existing) = self.get(&fresh.order_id, fresh.number()).await? {
                    return Ok(CreateOutcome::Existing(existing));
                }
                return Ok(CreateOutcome::OverLimit {
                    invoiced: held.get(kind),
                    limit,
                });
            }
            let delta = if fresh.is_live() { value } else { Cents::ZERO };
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&fresh)?))
                .condition_expression("attribute_not_exists(orderId)")
                .build()
                .map_err(build_error)?;
            let actions = vec![
                TransactWriteItem::builder().put(put).build(),
                self.sums_action(&fresh.order_id, stored, held, kind, delta, Some(limit))?,
            ];
            match self.transact(actions).await? {
                Txn::Done => return Ok(CreateOutcome::Created(fresh)),
                Txn::Cancelled(reasons) if failed(&reasons, 0) => {
                    return match self.get(&fresh.order_id, fresh.number()).await? {
                        Some(existing) => Ok(CreateOutcome::Existing(existing)),
                        None => Err(StoreError::Unavailable(
                            "invoice record vanished between a failed create and the read".into(),
                        )),
                    };
                }
                // The bound failed (a racing create took the room: the next read says so), or a
                // racing writer created the totals item or held it: read again and retry.
                Txn::Cancelled(_) => backoff(attempt).await,
            }
        }
        Err(StoreError::Unavailable(
            "invoice totals kept changing; try again".into(),
        ))
    }

    async fn get(
        &self,
        order_id: &str,
        invoice_number: &str,
    ) -> Result<Option<InvoiceRecord>, StoreError> {
        if invoice_number == TOTALS_SK {
            return Ok(None);
        }
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
                if !matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk == TOTALS_SK) {
                    records.push(from_item(item)?);
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(records)
    }

    async fn save(&self, record: &InvoiceRecord, tally: Tally) -> Result<RecordSave, StoreError> {
        let mut next = record.clone();
        next.version = record.version + 1;
        let values = HashMap::from([(
            ":expected".to_string(),
            AttributeValue::N(record.version.to_string()),
        )]);
        let (kind, value) = (next.invoice.kind, next.invoice.invoice_value);
        let (delta, limit) = match tally {
            Tally::Keep => {
                return if self.put(&next, "version = :expected", Some(values)).await? {
                    Ok(RecordSave::Saved(next))
                } else {
                    Ok(RecordSave::Conflict)
                };
            }
            Tally::Release => (Cents::ZERO - value, None),
            Tally::Claim { limit } => (value, Some(limit)),
        };
        for attempt in 0..MAX_ATTEMPTS {
            // Without a totals item, the records as stored (the one replaced as it counted
            // before) are the sums before this save.
            let (stored, held) = self.sums_now(&next.order_id).await?;
            if let Some(limit) = limit
                && !held.fits(&next, limit)
            {
                return Ok(RecordSave::OverLimit {
                    invoiced: held.get(kind),
                    limit,
                });
            }
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&next)?))
                .condition_expression("version = :expected")
                .set_expression_attribute_values(Some(values.clone()))
                .build()
                .map_err(build_error)?;
            let actions = vec![
                TransactWriteItem::builder().put(put).build(),
                self.sums_action(&next.order_id, stored, held, kind, delta, limit)?,
            ];
            match self.transact(actions).await? {
                Txn::Done => return Ok(RecordSave::Saved(next)),
                Txn::Cancelled(reasons) if failed(&reasons, 0) => return Ok(RecordSave::Conflict),
                Txn::Cancelled(_) => backoff(attempt).await,
            }
        }
        Err(StoreError::Unavailable(
            "invoice totals kept changing; try again".into(),
        ))
    }

    async fn invoiced(&self, order_id: &str) -> Result<InvoicedSums, StoreError> {
        Ok(self.sums_now(order_id).await?.1)
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
