//! The console's ports over the embedded store: [`domain::listing::OrderListing`] over the
//! `orders` table, and [`domain::listing::ParkedMessages`] over the local queues' dead-letter
//! queues (`{queue}-dlq` rows of `queue_messages`).
//!
//! The listing filters status and account in SQL and dates, order and paging in Rust over the
//! decoded rows: creation time lives only inside the stored JSON, and the local runner holds a
//! seller's test orders, not a production history (DynamoDB reads an index instead).
//!
//! A local DLQ message has no attributes, so why it was parked is kept beside it in
//! `parked_reasons` (written by [`note_parked`] when a worker parks a message, removed when it
//! is re-driven). A message the queue moved itself after too many receives has no reason row.

use crate::{EmbeddedStore, decode, sql_error};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::listing::{
    Cursor, MAX_PAGE, OrderFilter, OrderListing, OrderPage, ParkedMessage, ParkedMessages, Redrive,
};
use domain::order::Order;
use domain::ports::StoreError;
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

const REASONS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS parked_reasons (
    message_id TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    parked_at_ms INTEGER NOT NULL
);
";

fn ensure_reasons(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(REASONS_SCHEMA).map_err(sql_error)
}

/// Records why the dead-letter message `message_id` was parked (see the module docs).
pub(crate) async fn note_parked(
    store: &EmbeddedStore,
    message_id: &str,
    code: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let (id, code, reason) = (message_id.to_string(), code.to_string(), reason.to_string());
    let now = store.clock.now().timestamp_millis();
    store
        .with_conn(move |conn| {
            ensure_reasons(conn)?;
            conn.execute(
                "INSERT OR REPLACE INTO parked_reasons (message_id, code, reason, parked_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, code, reason, now],
            )
            .map_err(sql_error)?;
            Ok(())
        })
        .await
}

#[async_trait]
impl OrderListing for EmbeddedStore {
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<OrderPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let status = filter.status.map(|s| s.as_str().to_string());
        let an = filter.an.clone();
        let rows: Vec<(String, i64)> = self
            .with_conn(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT data, version FROM orders
                         WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR an = ?2)",
                    )
                    .map_err(sql_error)?;
                stmt.query_map(params![status, an], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_error)?
                    .collect::<Result<_, _>>()
                    .map_err(sql_error)
            })
            .await?;
        let mut orders = Vec::new();
        for (data, version) in rows {
            let mut order: Order = decode(&data)?;
            order.version = u64::try_from(version)
                .map_err(|_| StoreError::Corrupt("negative order version".into()))?;
            if filter.matches(&order) && after.is_none_or(|c| c.precedes(&order)) {
                orders.push(order);
            }
        }
        orders.sort_by(|a, b| (b.created_at, &b.order_id).cmp(&(a.created_at, &a.order_id)));
        let more = orders.len() > limit;
        orders.truncate(limit);
        let next = more.then(|| orders.last().map(Cursor::after)).flatten();
        Ok(OrderPage { orders, next })
    }
}

/// The dead-letter queues of the local queues named in `queues` (see the module docs).
#[derive(Debug, Clone)]
pub struct LocalParked {
    store: EmbeddedStore,
    queues: Vec<String>,
}

impl LocalParked {
    pub fn new(store: &EmbeddedStore, queues: &[&str]) -> Self {
        LocalParked {
            store: store.clone(),
            queues: queues.iter().map(|q| q.to_string()).collect(),
        }
    }

    fn known(&self, queue: &str) -> Result<(String, String), StoreError> {
        if self.queues.iter().any(|q| q == queue) {
            Ok((queue.to_string(), format!("{queue}-dlq")))
        } else {
            Err(StoreError::Limit(format!("no queue named {queue}")))
        }
    }
}

fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

#[async_trait]
impl ParkedMessages for LocalParked {
    fn queues(&self) -> Vec<String> {
        self.queues.clone()
    }

    async fn list(&self, queue: &str, limit: usize) -> Result<Vec<ParkedMessage>, StoreError> {
        let (_, dlq) = self.known(queue)?;
        let limit = i64::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        self.store
            .with_conn(move |conn| {
                ensure_reasons(conn)?;
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT m.message_id, m.body, m.group_id, m.sent_at_ms,
                                r.code, r.reason, r.parked_at_ms
                         FROM queue_messages m
                         LEFT JOIN parked_reasons r ON r.message_id = m.message_id
                         WHERE m.queue = ?1 ORDER BY m.seq LIMIT ?2",
                    )
                    .map_err(sql_error)?;
                stmt.query_map(params![dlq, limit], |r| {
                    let sent: i64 = r.get(3)?;
                    let parked: Option<i64> = r.get(6)?;
                    Ok(ParkedMessage {
                        id: r.get(0)?,
                        body: r.get(1)?,
                        group_id: r.get(2)?,
                        reason_code: r.get(4)?,
                        reason: r.get(5)?,
                        parked_at: from_millis(parked.unwrap_or(sent)),
                    })
                })
                .map_err(sql_error)?
                .collect::<Result<_, _>>()
                .map_err(sql_error)
            })
            .await
    }

    async fn redrive(&self, queue: &str, which: &Redrive) -> Result<usize, StoreError> {
        let (queue, dlq) = self.known(queue)?;
        let ids: Option<Vec<String>> = match which {
            Redrive::All => None,
            Redrive::Some(ids) if ids.is_empty() => return Ok(0),
            Redrive::Some(ids) => Some(ids.clone()),
        };
        let now = self.store.clock.now().timestamp_millis();
        self.store
            .with_conn(move |conn| {
                ensure_reasons(conn)?;
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                let (chosen, chosen_args): (String, Vec<Value>) = match &ids {
                    None => (String::new(), Vec::new()),
                    Some(ids) => (
                        format!(" AND message_id IN ({})", vec!["?"; ids.len()].join(",")),
                        ids.iter().cloned().map(Value::Text).collect(),
                    ),
                };
                let mut args = vec![Value::Text(dlq)];
                args.extend(chosen_args);
                tx.execute(
                    &format!(
                        "DELETE FROM parked_reasons WHERE message_id IN
                         (SELECT message_id FROM queue_messages WHERE queue = ?{chosen})"
                    ),
                    params_from_iter(args.iter()),
                )
                .map_err(sql_error)?;
                // The same move as LocalQueue::redrive: receive count reset, visible now.
                let mut move_args = vec![Value::Text(queue), Value::Integer(now)];
                move_args.extend(args);
                let moved = tx
                    .execute(
                        &format!(
                            "UPDATE queue_messages
                             SET queue = ?, receive_count = 0, receipt_handle = NULL,
                                 visible_at_ms = ?
                             WHERE queue = ?{chosen}"
                        ),
                        params_from_iter(move_args.iter()),
                    )
                    .map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                Ok(moved)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::erp::{DispatchQueue, QueuedMessage};
    use domain::listing::Cursor;
    use domain::order::OrderStatus;
    use domain::ports::{OrderStore, PlaceOutcome};
    use std::time::Duration;

    /// Built from its stored JSON, so fields added to `Order` later (all defaulted) need no edit.
    fn order(id: &str, an: &str, status: OrderStatus, minute: u32) -> Order {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 10, minute, 0).unwrap();
        serde_json::from_value(serde_json::json!({
            "orderId": id, "an": an, "marketplaceOrderId": format!("mkp-{id}"),
            "marketplacePaymentValue": 0, "status": status, "lines": [],
            "createdAt": at, "expiresAt": at,
        }))
        .unwrap()
    }

    async fn with_orders() -> EmbeddedStore {
        let store = EmbeddedStore::open_in_memory().unwrap();
        for (i, an) in ["luxstore", "other", "luxstore", "luxstore", "other"]
            .iter()
            .enumerate()
        {
            let o = order(&format!("SLR-{i}"), an, OrderStatus::Reserved, i as u32);
            assert!(matches!(
                store.create_reserved(&o).await.unwrap(),
                PlaceOutcome::Created(_)
            ));
        }
        store
    }

    fn ids(page: &OrderPage) -> Vec<&str> {
        page.orders.iter().map(|o| o.order_id.as_str()).collect()
    }

    #[tokio::test]
    async fn orders_list_newest_first_and_page_through_every_match_once() {
        let store = with_orders().await;
        let all = OrderFilter::default();
        let first = store.list_orders(&all, None, 2).await.unwrap();
        assert_eq!(ids(&first), ["SLR-4", "SLR-3"]);
        let second = store
            .list_orders(&all, first.next.as_ref(), 2)
            .await
            .unwrap();
        assert_eq!(ids(&second), ["SLR-2", "SLR-1"]);
        let last = store
            .list_orders(&all, second.next.as_ref(), 2)
            .await
            .unwrap();
        assert_eq!(ids(&last), ["SLR-0"]);
        assert_eq!(last.next, None);
    }

    #[tokio::test]
    async fn orders_filter_by_account_status_and_creation_dates() {
        let store = with_orders().await;
        let lux = OrderFilter {
            an: Some("luxstore".into()),
            created_from: Some(Utc.with_ymd_and_hms(2026, 3, 4, 10, 2, 0).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            ids(&store.list_orders(&lux, None, 10).await.unwrap()),
            ["SLR-3", "SLR-2"]
        );
        let canceled = OrderFilter {
            status: Some(OrderStatus::Canceled),
            ..Default::default()
        };
        assert!(
            store
                .list_orders(&canceled, None, 10)
                .await
                .unwrap()
                .orders
                .is_empty()
        );
        let before = Cursor::decode("2026-03-04T10:01:00.000000000Z#SLR-1").unwrap();
        assert_eq!(
            ids(&store
                .list_orders(&OrderFilter::default(), Some(&before), 10)
                .await
                .unwrap()),
            ["SLR-0"]
        );
    }

    async fn park(store: &EmbeddedStore, body: &str, code: &str) {
        let q = store.queue("dispatch");
        q.send(body, Some("g"), None).await.unwrap();
        let got = q.receive(1, Duration::from_secs(30)).await.unwrap();
        let m = &got[0];
        q.dead_letter(
            &QueuedMessage {
                message_id: &m.message_id,
                receipt_handle: &m.receipt_handle,
                body: &m.body,
                group_id: m.group_id.as_deref(),
            },
            code,
            "invoice before fulfill",
        )
        .await
        .unwrap();
        q.delete(&m.receipt_handle).await.unwrap();
    }

    #[tokio::test]
    async fn a_parked_message_shows_its_reason_and_a_single_redrive_moves_only_it() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        park(&store, r#"{"n":1}"#, "RULE_BREAK").await;
        park(&store, r#"{"n":2}"#, "UNKNOWN_ORDER").await;
        let parked = LocalParked::new(&store, &["dispatch"]);
        let list = parked.list("dispatch", 10).await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].body, r#"{"n":1}"#);
        assert_eq!(list[0].reason_code.as_deref(), Some("RULE_BREAK"));
        assert_eq!(list[0].reason.as_deref(), Some("invoice before fulfill"));
        assert_eq!(list[0].group_id.as_deref(), Some("g"));
        assert!(list[0].parked_at.is_some());

        let one = Redrive::Some(vec![list[1].id.clone(), "gone".into()]);
        assert_eq!(parked.redrive("dispatch", &one).await.unwrap(), 1);
        let left = parked.list("dispatch", 10).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, list[0].id);
        let back = store
            .queue("dispatch")
            .receive(10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(
            (back[0].body.as_str(), back[0].receive_count),
            (r#"{"n":2}"#, 1)
        );

        assert_eq!(parked.redrive("dispatch", &Redrive::All).await.unwrap(), 1);
        assert!(parked.list("dispatch", 10).await.unwrap().is_empty());
        assert!(parked.list("nope", 10).await.is_err());
        assert!(parked.redrive("nope", &Redrive::All).await.is_err());
    }
}
