//! The order log's cap in DynamoDB ([`domain::order_log`]).
//!
//! Counting a partition's log items on every append would read the whole log each time, so a
//! counter item (`sk = LOGCOUNT`, beside the `LOG#…` entries) moves with every append. The writer
//! whose append brought it to the fold point folds: it reads the oldest entries, writes the summary
//! over the oldest one's key (so it stays first) and deletes the rest, in one transaction, then
//! moves the counter back. A crash between the two leaves the counter high, and the next fold point
//! ([`must_fold`]) comes [`LOG_FOLD`] appends later: the log passes the cap by that much at most.

use super::{Item, MAX_TRANSACTION_ACTIONS, decode, encode, get_n, get_s, n, pk_sk, s, sdk_error};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem};
use domain::order::LogEntry;
use domain::order_log::{LOG_FOLD, fold, must_fold};
use domain::ports::StoreError;

const COUNT_SK: &str = "LOGCOUNT";

/// Puts the entry `item` (already keyed `pk`/`LOG#…`), moves the counter, and folds when due.
pub(crate) async fn append(
    client: &Client,
    table: &str,
    pk: String,
    log_prefix: &str,
    item: Item,
) -> Result<(), StoreError> {
    // Independent writes, so one round trip of latency: a counter moved for an entry whose Put
    // failed is one too high, which only brings the next fold a little earlier.
    let put = async {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))
    };
    let (put, count) = tokio::join!(put, add_to_count(client, table, &pk, 1));
    put?;
    let count = count?;
    if must_fold(count as u64) {
        fold_oldest(client, table, &pk, log_prefix).await?;
    }
    Ok(())
}

async fn add_to_count(client: &Client, table: &str, pk: &str, by: i64) -> Result<i64, StoreError> {
    let out = client
        .update_item()
        .table_name(table)
        .set_key(Some(pk_sk(pk.to_string(), COUNT_SK)))
        .update_expression("ADD #c :by")
        .expression_attribute_names("#c", "entries")
        .expression_attribute_values(":by", n(by))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|e| sdk_error("UpdateItem", e))?;
    match out.attributes() {
        Some(attrs) => get_n(attrs, "entries"),
        None => Ok(0),
    }
}

async fn fold_oldest(
    client: &Client,
    table: &str,
    pk: &str,
    log_prefix: &str,
) -> Result<(), StoreError> {
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("#p = :p AND begins_with(#s, :log)")
        .expression_attribute_names("#p", "pk")
        .expression_attribute_names("#s", "sk")
        .expression_attribute_values(":p", s(pk))
        .expression_attribute_values(":log", s(log_prefix))
        .consistent_read(true)
        .limit(LOG_FOLD as i32)
        .send()
        .await
        .map_err(|e| sdk_error("Query", e))?;
    const _: () = assert!(LOG_FOLD as usize <= MAX_TRANSACTION_ACTIONS);
    let items = out.items();
    if items.len() < 2 {
        return Ok(());
    }
    let mut entries = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        entries.push(decode::<LogEntry>(get_s(item, "data")?)?);
        keys.push(get_s(item, "sk")?.to_string());
    }
    let mut summary = pk_sk(pk.to_string(), &keys[0]);
    summary.insert("data".into(), s(encode(&fold(&entries))?));
    let mut writes = vec![
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(summary))
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            )
            .build(),
    ];
    for sk in &keys[1..] {
        writes.push(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(table)
                        .set_key(Some(pk_sk(pk.to_string(), sk)))
                        .build()
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                )
                .build(),
        );
    }
    // One transaction (LOG_FOLD fits in TransactWriteItems' limit): the log is never seen with an
    // entry both in the summary and still present.
    client
        .transact_write_items()
        .set_transact_items(Some(writes))
        .send()
        .await
        .map_err(|e| sdk_error("TransactWriteItems", e))?;
    add_to_count(client, table, pk, -(keys.len() as i64 - 1)).await?;
    Ok(())
}
