//! The console's ports on AWS: [`DynamoListing`] ([`domain::listing::OrderListing`]) over the
//! orders table's `gsi2`, and [`SqsParked`] ([`domain::listing::ParkedMessages`]) over the SQS
//! dead-letter queues of the workers' queues.
//!
//! ## `gsi2`: every order by creation (projection ALL)
//!
//! Every order item carries `gsi2pk` = `ORDER` and `gsi2sk` = `{createdAt}#{orderId}` (creation
//! time RFC 3339 UTC with nanoseconds, fixed width: [`domain::listing::Cursor::encode`]), written
//! by [`index_keys`] with the item. The list is one Query, newest first (`ScanIndexForward =
//! false`): the creation dates and the page cursor are the key condition, the status a filter
//! expression, the account a check on the decoded order. Chosen over a Scan, which reads the whole
//! table (the logs too) for every page.
//!
//! One partition key for the whole index holds while the orders table takes fewer than about
//! 1,000 order writes a second (DynamoDB's per-partition write limit, which a GSI inherits); a
//! seller's orders are far below that. Past it, shard the key by creation month.
//!
//! Orders written before `gsi2` existed have no keys and are not listed until their next write.
//!
//! ## Parked messages
//!
//! SQS has no "peek": listing receives the DLQ's messages with a short visibility timeout, then
//! makes them visible again at once (`ChangeMessageVisibility` 0), so a listing never holds them
//! from a re-drive. The reason is the `reasonCode` / `reason` attributes the workers park with;
//! the time is SQS's `SentTimestamp` of the DLQ message. A re-drive of all is
//! [`crate::dispatch_queue::redrive`]; a re-drive of some receives until it has seen them.

use super::{Item, decode, get_n, get_s, s, sdk_error};
use crate::sqs_common::sqs_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use domain::listing::{
    Cursor, MAX_PAGE, OrderFilter, OrderListing, OrderPage, ParkedMessage, ParkedMessages, Redrive,
    sort_time,
};
use domain::order::Order;
use domain::ports::StoreError;
use std::collections::{HashMap, HashSet};

pub const GSI2: &str = "gsi2";
const GSI2_ORDERS: &str = "ORDER";

/// The `gsi2` keys of an order item (see the module docs).
pub fn index_keys(order: &Order) -> [(String, AttributeValue); 2] {
    [
        ("gsi2pk".to_string(), s(GSI2_ORDERS)),
        ("gsi2sk".to_string(), s(Cursor::after(order).encode())),
    ]
}

/// Orders by creation, from `gsi2`.
#[derive(Debug, Clone)]
pub struct DynamoListing {
    client: aws_sdk_dynamodb::Client,
    orders_table: String,
}

impl DynamoListing {
    pub fn new(client: aws_sdk_dynamodb::Client, orders_table: impl Into<String>) -> Self {
        DynamoListing {
            client,
            orders_table: orders_table.into(),
        }
    }
}

fn order_from_item(item: &Item) -> Result<Order, StoreError> {
    let mut order: Order = decode(get_s(item, "data")?)?;
    order.version = u64::try_from(get_n(item, "version")?)
        .map_err(|_| StoreError::Corrupt("negative order version".into()))?;
    Ok(order)
}

/// The key condition for `filter` and `after`: the expression, its values and the upper bound.
/// The upper bound is exclusive while DynamoDB's `BETWEEN` is not: the decoded order's check
/// ([`Cursor::precedes`], [`OrderFilter::matches`]) drops an item equal to it.
fn key_condition(
    filter: &OrderFilter,
    after: Option<&Cursor>,
) -> (String, Vec<(&'static str, String)>, Option<String>) {
    let upper = [after.map(Cursor::encode), filter.created_to.map(sort_time)]
        .into_iter()
        .flatten()
        .min();
    let lower = filter.created_from.map(sort_time);
    let mut values = vec![(":pk", GSI2_ORDERS.to_string())];
    let expr = match (&lower, &upper) {
        (Some(lo), Some(hi)) => {
            values.push((":lo", lo.clone()));
            values.push((":hi", hi.clone()));
            "#pk = :pk AND #sk BETWEEN :lo AND :hi"
        }
        (Some(lo), None) => {
            values.push((":lo", lo.clone()));
            "#pk = :pk AND #sk >= :lo"
        }
        (None, Some(hi)) => {
            values.push((":hi", hi.clone()));
            "#pk = :pk AND #sk < :hi"
        }
        (None, None) => "#pk = :pk",
    };
    (expr.to_string(), values, upper)
}

#[async_trait]
impl OrderListing for DynamoListing {
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<OrderPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let (condition, values, _) = key_condition(filter, after);
        let mut orders: Vec<Order> = Vec::new();
        let mut start: Option<Item> = None;
        // One more than the page, to know whether another page follows.
        while orders.len() <= limit {
            let mut q = self
                .client
                .query()
                .table_name(&self.orders_table)
                .index_name(GSI2)
                .key_condition_expression(&condition)
                .expression_attribute_names("#pk", "gsi2pk")
                .scan_index_forward(false)
                .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            // DynamoDB refuses a placeholder no expression uses.
            if condition.contains("#sk") {
                q = q.expression_attribute_names("#sk", "gsi2sk");
            }
            for (k, v) in &values {
                q = q.expression_attribute_values(*k, s(v));
            }
            if let Some(status) = filter.status {
                q = q
                    .filter_expression("#st = :st")
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_values(":st", s(status.as_str()));
            }
            let out = q.send().await.map_err(|e| sdk_error("Query", e))?;
            for item in out.items() {
                let order = order_from_item(item)?;
                // The index is eventually consistent: the decoded order has the last word.
                if filter.matches(&order) && after.is_none_or(|c| c.precedes(&order)) {
                    orders.push(order);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let more = orders.len() > limit;
        orders.truncate(limit);
        let next = more.then(|| orders.last().map(Cursor::after)).flatten();
        Ok(OrderPage { orders, next })
    }
}

/// A worker's queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct ParkedQueue {
    /// The name the console shows (`dispatch`, `catalog`, `import`).
    pub name: String,
    pub queue_url: String,
    pub dlq_url: String,
}

/// The dead-letter queues of `queues` (see the module docs).
#[derive(Debug, Clone)]
pub struct SqsParked {
    client: aws_sdk_sqs::Client,
    queues: Vec<ParkedQueue>,
}

/// How long a listing hides what it received (it shows them again at once when done).
const LIST_VISIBILITY_SECS: i32 = 5;
/// How long a selective re-drive holds what it received while looking for its messages.
const REDRIVE_VISIBILITY_SECS: i32 = 30;

struct Received {
    message: ParkedMessage,
    handle: String,
}

impl SqsParked {
    pub fn new(client: aws_sdk_sqs::Client, queues: Vec<ParkedQueue>) -> Self {
        SqsParked { client, queues }
    }

    fn queue(&self, name: &str) -> Result<&ParkedQueue, StoreError> {
        self.queues
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| StoreError::Limit(format!("no queue named {name}")))
    }

    /// Receives up to `limit` distinct messages of `dlq_url`, hidden for `visibility` seconds.
    async fn receive(
        &self,
        dlq_url: &str,
        limit: usize,
        visibility: i32,
    ) -> Result<Vec<Received>, StoreError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        while out.len() < limit {
            let want = (limit - out.len()).min(10);
            let got = self
                .client
                .receive_message()
                .queue_url(dlq_url)
                .max_number_of_messages(i32::try_from(want).unwrap_or(10))
                .wait_time_seconds(0)
                .visibility_timeout(visibility)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| sqs_error("ReceiveMessage (DLQ)", e))?;
            let messages = got.messages();
            let mut fresh = 0;
            for m in messages {
                let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                    continue;
                };
                if !seen.insert(id.to_string()) {
                    continue;
                }
                fresh += 1;
                let attr = |k: &str| {
                    m.message_attributes()
                        .and_then(|a| a.get(k))
                        .and_then(|v| v.string_value())
                        .map(str::to_string)
                };
                let system =
                    |k: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&k)).cloned();
                out.push(Received {
                    message: ParkedMessage {
                        id: id.to_string(),
                        body: m.body().unwrap_or_default().to_string(),
                        group_id: system(MessageSystemAttributeName::MessageGroupId),
                        reason_code: attr("reasonCode"),
                        reason: attr("reason"),
                        parked_at: system(MessageSystemAttributeName::SentTimestamp)
                            .and_then(|t| t.parse::<i64>().ok())
                            .and_then(chrono::DateTime::from_timestamp_millis),
                    },
                    handle: handle.to_string(),
                });
            }
            if fresh == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// Makes received messages visible again at once.
    async fn release(&self, dlq_url: &str, received: &[Received]) -> Result<(), StoreError> {
        for r in received {
            self.client
                .change_message_visibility()
                .queue_url(dlq_url)
                .receipt_handle(&r.handle)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| sqs_error("ChangeMessageVisibility (DLQ)", e))?;
        }
        Ok(())
    }

    /// How many messages the DLQ holds, by SQS's approximate count (the re-drive's bound).
    async fn approximate_len(&self, dlq_url: &str) -> Result<usize, StoreError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(dlq_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| sqs_error("GetQueueAttributes (DLQ)", e))?;
        let attrs: HashMap<QueueAttributeName, String> = out.attributes.unwrap_or_default();
        let n = |k: QueueAttributeName| {
            attrs
                .get(&k)
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0)
        };
        Ok(n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }
}

#[async_trait]
impl ParkedMessages for SqsParked {
    fn queues(&self) -> Vec<String> {
        self.queues.iter().map(|q| q.name.clone()).collect()
    }

    async fn list(&self, queue: &str, limit: usize) -> Result<Vec<ParkedMessage>, StoreError> {
        let q = self.queue(queue)?;
        let received = self
            .receive(&q.dlq_url, limit.clamp(1, 1000), LIST_VISIBILITY_SECS)
            .await?;
        self.release(&q.dlq_url, &received).await?;
        let mut list: Vec<ParkedMessage> = received.into_iter().map(|r| r.message).collect();
        list.sort_by_key(|m| m.parked_at);
        Ok(list)
    }

    async fn redrive(&self, queue: &str, which: &Redrive) -> Result<usize, StoreError> {
        let q = self.queue(queue)?;
        let ids = match which {
            Redrive::All => {
                return crate::dispatch_queue::redrive(
                    &self.client,
                    &q.dlq_url,
                    &q.queue_url,
                    None,
                )
                .await;
            }
            Redrive::Some(ids) => ids,
        };
        let bound = self.approximate_len(&q.dlq_url).await?.max(ids.len());
        let received = self
            .receive(&q.dlq_url, bound.min(1000), REDRIVE_VISIBILITY_SECS)
            .await?;
        let fifo = q.queue_url.ends_with(".fifo");
        let (chosen, others): (Vec<Received>, Vec<Received>) = received
            .into_iter()
            .partition(|r| ids.contains(&r.message.id));
        self.release(&q.dlq_url, &others).await?;
        for r in &chosen {
            let mut send = self
                .client
                .send_message()
                .queue_url(&q.queue_url)
                .message_body(&r.message.body);
            if fifo {
                send = send
                    .message_group_id(r.message.group_id.as_deref().unwrap_or(queue))
                    .message_deduplication_id(format!("redrive-{}", r.message.id));
            }
            send.send()
                .await
                .map_err(|e| sqs_error("SendMessage (redrive)", e))?;
            self.client
                .delete_message()
                .queue_url(&q.dlq_url)
                .receipt_handle(&r.handle)
                .send()
                .await
                .map_err(|e| sqs_error("DeleteMessage (DLQ)", e))?;
        }
        Ok(chosen.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_key_condition_bounds_by_dates_and_the_cursor_whichever_is_tighter() {
        let day = |d| Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
        let none = key_condition(&OrderFilter::default(), None);
        assert_eq!((none.0.as_str(), none.2), ("#pk = :pk", None));
        let f = OrderFilter {
            created_from: Some(day(1)),
            created_to: Some(day(5)),
            ..Default::default()
        };
        let cursor = Cursor {
            created_at: day(3),
            order_id: "SLR-1".into(),
        };
        let (expr, values, upper) = key_condition(&f, Some(&cursor));
        assert_eq!(expr, "#pk = :pk AND #sk BETWEEN :lo AND :hi");
        assert_eq!(upper.as_deref(), Some(cursor.encode().as_str()));
        assert!(values.contains(&(":lo", sort_time(day(1)))));
        let (expr, _, upper) = key_condition(
            &OrderFilter {
                created_to: Some(day(2)),
                ..Default::default()
            },
            Some(&cursor),
        );
        assert_eq!(expr, "#pk = :pk AND #sk < :hi");
        assert_eq!(upper, Some(sort_time(day(2))));
    }
}
