//! A persistent local queue with the SQS FIFO behaviour the connector relies on:
//! - visibility timeout: a received message is hidden until deleted or the timeout passes;
//! - message groups: a group's next message is not delivered while an earlier one is in flight,
//!   and one receive hands out up to `max` messages of a group in its order (as SQS FIFO hands a
//!   consumer up to 10 of one group), so one order's messages stay in order;
//! - de-duplication: a `dedup_id` seen on this queue in the last 5 minutes is not enqueued again;
//! - dead-letter queue: with [`LocalQueue::with_max_receives`], a message received that many
//!   times moves to `"{name}-dlq"` instead of being delivered again; [`LocalQueue::redrive`] moves
//!   them back.

use crate::{EmbeddedStore, sql_error};
use domain::ports::StoreError;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How long SQS FIFO remembers a de-duplication id.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMessage {
    pub message_id: String,
    /// Valid until the message is received again; needed to delete it or change its visibility.
    pub receipt_handle: String,
    pub body: String,
    pub group_id: Option<String>,
    /// How many times it was delivered, this delivery included (SQS `ApproximateReceiveCount`).
    pub receive_count: u32,
}

/// A named queue in an [`EmbeddedStore`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalQueue {
    store: EmbeddedStore,
    name: String,
    max_receives: Option<u32>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl LocalQueue {
    pub(crate) fn new(store: EmbeddedStore, name: String) -> Self {
        LocalQueue {
            store,
            name,
            max_receives: None,
        }
    }

    /// Moves a message to [`Self::dlq_name`] once it was received `max_receives` times and is
    /// about to be delivered again (SQS `maxReceiveCount`).
    pub fn with_max_receives(mut self, max_receives: u32) -> Self {
        self.max_receives = Some(max_receives.max(1));
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn store(&self) -> &EmbeddedStore {
        &self.store
    }

    pub fn dlq_name(&self) -> String {
        format!("{}-dlq", self.name)
    }

    /// The dead-letter queue as a queue of its own (to inspect or consume it).
    pub fn dlq(&self) -> LocalQueue {
        self.store.queue(self.dlq_name())
    }

    fn now_ms(&self) -> i64 {
        self.store.clock.now().timestamp_millis()
    }

    /// Enqueues `body`; returns its message id. With a `dedup_id` already sent to this queue in
    /// the last 5 minutes, nothing is enqueued and the first message's id is returned.
    pub async fn send(
        &self,
        body: &str,
        group_id: Option<&str>,
        dedup_id: Option<&str>,
    ) -> Result<String, StoreError> {
        self.send_delayed(body, group_id, dedup_id, Duration::ZERO)
            .await
    }

    /// [`Self::send`], the message becoming visible `delay` from now (SQS `DelaySeconds`, without
    /// its 15-minute cap).
    pub async fn send_delayed(
        &self,
        body: &str,
        group_id: Option<&str>,
        dedup_id: Option<&str>,
        delay: Duration,
    ) -> Result<String, StoreError> {
        let (queue, body) = (self.name.clone(), body.to_string());
        let (group_id, dedup_id) = (group_id.map(str::to_string), dedup_id.map(str::to_string));
        let now = self.now_ms();
        let visible_at = now.saturating_add(millis(delay));
        self.store
            .with_conn(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                tx.execute(
                    "DELETE FROM queue_dedup WHERE queue = ?1 AND expires_at_ms <= ?2",
                    params![queue, now],
                )
                .map_err(sql_error)?;
                if let Some(dedup) = &dedup_id {
                    let first: Option<String> = tx
                        .query_row(
                            "SELECT message_id FROM queue_dedup WHERE queue = ?1 AND dedup_id = ?2",
                            params![queue, dedup],
                            |row| row.get(0),
                        )
                        .optional()
                        .map_err(sql_error)?;
                    if let Some(first) = first {
                        return Ok(first);
                    }
                }
                let message_id = uuid::Uuid::new_v4().to_string();
                tx.execute(
                    "INSERT INTO queue_messages
                     (queue, message_id, body, group_id, sent_at_ms, visible_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![queue, message_id, body, group_id, now, visible_at],
                )
                .map_err(sql_error)?;
                if let Some(dedup) = &dedup_id {
                    tx.execute(
                        "INSERT INTO queue_dedup (queue, dedup_id, message_id, expires_at_ms)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![queue, dedup, message_id, now + millis(DEDUP_WINDOW)],
                    )
                    .map_err(sql_error)?;
                }
                tx.commit().map_err(sql_error)?;
                Ok(message_id)
            })
            .await
    }

    /// Up to `max` messages, each hidden for `visibility` (see the module docs for groups and the
    /// dead-letter rule). As SQS FIFO, a receive returns as many messages of one group as it can,
    /// in the group's order, before the next group: groups come in the order of their oldest
    /// deliverable message, and a message without a group is a group of its own.
    pub async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<LocalMessage>, StoreError> {
        let (queue, dlq, max_receives) = (self.name.clone(), self.dlq_name(), self.max_receives);
        let now = self.now_ms();
        let visible_at = now.saturating_add(millis(visibility));
        self.store
            .with_conn(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                // Bodies are read only for the messages delivered. The scan goes in queue order
                // over the messages in flight too (they make their group wait), and stops once the
                // first group holds a full batch: the answer cannot change after that, and a long
                // queue drained batch after batch is then read a batch at a time.
                let mut busy_groups: HashSet<String> = HashSet::new();
                let mut group_index: HashMap<String, usize> = HashMap::new();
                // Deliverable messages per group, groups in order of their first deliverable one.
                let mut groups: Vec<Vec<(i64, i64)>> = Vec::new();
                let mut dead: Vec<i64> = Vec::new();
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT seq, group_id, visible_at_ms, receive_count
                             FROM queue_messages WHERE queue = ?1 ORDER BY seq",
                        )
                        .map_err(sql_error)?;
                    let mut rows = stmt.query([&queue]).map_err(sql_error)?;
                    while let Some(r) = rows.next().map_err(sql_error)? {
                        if max == 0 || groups.first().is_some_and(|g| g.len() >= max) {
                            break;
                        }
                        let seq: i64 = r.get(0).map_err(sql_error)?;
                        let group_id: Option<String> = r.get(1).map_err(sql_error)?;
                        let msg_visible_at: i64 = r.get(2).map_err(sql_error)?;
                        let receive_count: i64 = r.get(3).map_err(sql_error)?;
                        if group_id.as_ref().is_some_and(|g| busy_groups.contains(g)) {
                            continue;
                        }
                        if msg_visible_at > now {
                            // In flight (or delayed): its group waits behind it.
                            if let Some(g) = group_id {
                                busy_groups.insert(g);
                            }
                            continue;
                        }
                        if max_receives.is_some_and(|m| receive_count >= i64::from(m)) {
                            dead.push(seq);
                            continue;
                        }
                        let slot = match group_id {
                            Some(g) => *group_index.entry(g).or_insert_with(|| {
                                groups.push(Vec::new());
                                groups.len() - 1
                            }),
                            None => {
                                groups.push(Vec::new());
                                groups.len() - 1
                            }
                        };
                        groups[slot].push((seq, receive_count));
                    }
                }
                {
                    let mut to_dlq = tx
                        .prepare_cached(
                            "UPDATE queue_messages
                             SET queue = ?2, receive_count = 0, receipt_handle = NULL,
                                 visible_at_ms = ?3
                             WHERE seq = ?1",
                        )
                        .map_err(sql_error)?;
                    for seq in dead {
                        to_dlq.execute(params![seq, dlq, now]).map_err(sql_error)?;
                    }
                }
                let mut delivered = Vec::new();
                {
                    let mut take = tx
                        .prepare_cached(
                            "UPDATE queue_messages
                             SET receive_count = receive_count + 1, receipt_handle = ?2,
                                 visible_at_ms = ?3
                             WHERE seq = ?1
                             RETURNING message_id, body, group_id",
                        )
                        .map_err(sql_error)?;
                    for (seq, receive_count) in groups.into_iter().flatten().take(max) {
                        let receipt_handle = uuid::Uuid::new_v4().to_string();
                        let (message_id, body, group_id) = take
                            .query_row(params![seq, receipt_handle, visible_at], |r| {
                                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                            })
                            .map_err(sql_error)?;
                        delivered.push(LocalMessage {
                            message_id,
                            receipt_handle,
                            body,
                            group_id,
                            receive_count: u32::try_from(receive_count + 1).unwrap_or(u32::MAX),
                        });
                    }
                }
                tx.commit().map_err(sql_error)?;
                Ok(delivered)
            })
            .await
    }

    /// Deletes the messages last received with these handles, in one transaction; how many were
    /// deleted (stale handles are skipped, as [`LocalQueue::delete`] reports them `false`).
    pub async fn delete_batch(&self, receipt_handles: &[String]) -> Result<usize, StoreError> {
        let (queue, handles) = (self.name.clone(), receipt_handles.to_vec());
        self.store
            .with_conn(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let mut n = 0;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "DELETE FROM queue_messages WHERE queue = ?1 AND receipt_handle = ?2",
                        )
                        .map_err(sql_error)?;
                    for handle in &handles {
                        n += stmt.execute(params![queue, handle]).map_err(sql_error)?;
                    }
                }
                tx.commit().map_err(sql_error)?;
                Ok(n)
            })
            .await
    }

    /// Deletes the message last received with `receipt_handle`; `false` if the handle is stale
    /// (the message was received again, or is gone).
    pub async fn delete(&self, receipt_handle: &str) -> Result<bool, StoreError> {
        let (queue, handle) = (self.name.clone(), receipt_handle.to_string());
        self.store
            .with_conn(move |conn| {
                let n = conn
                    .execute(
                        "DELETE FROM queue_messages WHERE queue = ?1 AND receipt_handle = ?2",
                        params![queue, handle],
                    )
                    .map_err(sql_error)?;
                Ok(n > 0)
            })
            .await
    }

    /// Makes the message visible again `visibility` from now (zero: at once); `false` if the
    /// handle is stale.
    pub async fn change_visibility(
        &self,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<bool, StoreError> {
        let (queue, handle) = (self.name.clone(), receipt_handle.to_string());
        let visible_at = self.now_ms().saturating_add(millis(visibility));
        self.store
            .with_conn(move |conn| {
                let n = conn
                    .execute(
                        "UPDATE queue_messages SET visible_at_ms = ?3
                         WHERE queue = ?1 AND receipt_handle = ?2",
                        params![queue, handle, visible_at],
                    )
                    .map_err(sql_error)?;
                Ok(n > 0)
            })
            .await
    }

    /// Messages in the queue, in flight included.
    pub async fn len(&self) -> Result<usize, StoreError> {
        let queue = self.name.clone();
        self.store
            .with_conn(move |conn| {
                let n: i64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1",
                        [queue],
                        |row| row.get(0),
                    )
                    .map_err(sql_error)?;
                Ok(usize::try_from(n).unwrap_or(0))
            })
            .await
    }

    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len().await? == 0)
    }

    /// Moves every message of the dead-letter queue back to this queue, visible now, receive
    /// count reset, in their original order. Returns how many moved.
    pub async fn redrive(&self) -> Result<usize, StoreError> {
        let (queue, dlq) = (self.name.clone(), self.dlq_name());
        let now = self.now_ms();
        self.store
            .with_conn(move |conn| {
                conn.execute(
                    "UPDATE queue_messages
                     SET queue = ?1, receive_count = 0, receipt_handle = NULL, visible_at_ms = ?3
                     WHERE queue = ?2",
                    params![queue, dlq, now],
                )
                .map_err(sql_error)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use domain::clock::ManualClock;
    use std::sync::Arc;

    fn store() -> (EmbeddedStore, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let store = EmbeddedStore::open_in_memory()
            .unwrap()
            .with_clock(clock.clone());
        (store, clock)
    }

    const VISIBILITY: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn received_message_is_hidden_until_the_visibility_timeout_passes() {
        let (store, clock) = store();
        let q = store.queue("q");
        q.send("a", None, None).await.unwrap();
        let first = q.receive(10, VISIBILITY).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].receive_count, 1);
        assert!(q.receive(10, VISIBILITY).await.unwrap().is_empty());
        clock.advance(chrono::Duration::seconds(31));
        let again = q.receive(10, VISIBILITY).await.unwrap();
        assert_eq!(again[0].message_id, first[0].message_id);
        assert_eq!(again[0].receive_count, 2);
        // The first handle went stale with the second delivery.
        assert!(!q.delete(&first[0].receipt_handle).await.unwrap());
        assert!(q.delete(&again[0].receipt_handle).await.unwrap());
        assert!(q.is_empty().await.unwrap());
    }

    #[tokio::test]
    async fn a_delayed_message_is_hidden_until_its_delay_passes() {
        let (store, clock) = store();
        let q = store.queue("q");
        q.send_delayed("later", None, None, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(q.receive(10, VISIBILITY).await.unwrap().is_empty());
        clock.advance(chrono::Duration::seconds(60));
        assert_eq!(q.receive(10, VISIBILITY).await.unwrap()[0].body, "later");
    }

    #[tokio::test]
    async fn a_group_waits_while_its_earlier_message_is_in_flight() {
        let (store, _clock) = store();
        let q = store.queue("q");
        q.send("g1-a", Some("g1"), None).await.unwrap();
        q.send("g1-b", Some("g1"), None).await.unwrap();
        q.send("g2-a", Some("g2"), None).await.unwrap();
        let got = q.receive(1, VISIBILITY).await.unwrap();
        assert_eq!(got[0].body, "g1-a");
        let other = q.receive(10, VISIBILITY).await.unwrap();
        let bodies: Vec<&str> = other.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, vec!["g2-a"], "g1-b waits behind g1-a in flight");
        assert!(q.receive(10, VISIBILITY).await.unwrap().is_empty());
        q.delete(&got[0].receipt_handle).await.unwrap();
        let next = q.receive(10, VISIBILITY).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].body, "g1-b");
    }

    #[tokio::test]
    async fn a_receive_hands_out_up_to_max_messages_of_a_group_in_order_then_the_next_group() {
        let (store, _clock) = store();
        let q = store.queue("q");
        for i in 0..12 {
            q.send(&format!("g1-{i}"), Some("g1"), None).await.unwrap();
            if i < 2 {
                q.send(&format!("g2-{i}"), Some("g2"), None).await.unwrap();
            }
        }
        q.send("loose", None, None).await.unwrap();
        let bodies =
            |got: &[LocalMessage]| -> Vec<String> { got.iter().map(|m| m.body.clone()).collect() };
        let first = q.receive(10, VISIBILITY).await.unwrap();
        let want: Vec<String> = (0..10).map(|i| format!("g1-{i}")).collect();
        assert_eq!(bodies(&first), want);
        // g1 is in flight: its last two wait; the other groups come whole, in order.
        let second = q.receive(10, VISIBILITY).await.unwrap();
        assert_eq!(bodies(&second), ["g2-0", "g2-1", "loose"]);
        let handles: Vec<String> = first.iter().map(|m| m.receipt_handle.clone()).collect();
        assert_eq!(q.delete_batch(&handles).await.unwrap(), 10);
        assert_eq!(q.delete_batch(&handles).await.unwrap(), 0, "stale handles");
        let third = q.receive(10, VISIBILITY).await.unwrap();
        assert_eq!(bodies(&third), ["g1-10", "g1-11"]);
    }

    #[tokio::test]
    async fn change_visibility_zero_makes_the_message_available_at_once() {
        let (store, _clock) = store();
        let q = store.queue("q");
        q.send("a", Some("g"), None).await.unwrap();
        let got = q.receive(1, VISIBILITY).await.unwrap();
        assert!(
            q.change_visibility(&got[0].receipt_handle, Duration::ZERO)
                .await
                .unwrap()
        );
        assert_eq!(q.receive(1, VISIBILITY).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn dedup_id_is_remembered_for_five_minutes() {
        let (store, clock) = store();
        let q = store.queue("q");
        let first = q.send("a", Some("g"), Some("d1")).await.unwrap();
        assert_eq!(q.send("a", Some("g"), Some("d1")).await.unwrap(), first);
        assert_eq!(q.len().await.unwrap(), 1);
        // Other queues keep their own ids.
        store
            .queue("other")
            .send("a", None, Some("d1"))
            .await
            .unwrap();
        assert_eq!(store.queue("other").len().await.unwrap(), 1);
        clock.advance(chrono::Duration::minutes(5));
        assert_ne!(q.send("a", Some("g"), Some("d1")).await.unwrap(), first);
        assert_eq!(q.len().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn message_moves_to_the_dlq_after_max_receives_and_redrives_back() {
        let (store, clock) = store();
        let q = store.queue("q").with_max_receives(2);
        q.send("poison", Some("g"), None).await.unwrap();
        q.send("next", Some("g"), None).await.unwrap();
        for attempt in 1..=2 {
            // One at a time, so only the poison message is ever received (and counted).
            let got = q.receive(1, VISIBILITY).await.unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(
                (got[0].body.as_str(), got[0].receive_count),
                ("poison", attempt)
            );
            clock.advance(chrono::Duration::seconds(31));
        }
        // Third delivery would exceed 2: the message goes to the DLQ and its group moves on.
        let got = q.receive(10, VISIBILITY).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, "next");
        q.delete(&got[0].receipt_handle).await.unwrap();
        assert_eq!(q.dlq().len().await.unwrap(), 1);
        assert_eq!(q.dlq_name(), "q-dlq");
        assert_eq!(q.redrive().await.unwrap(), 1);
        assert_eq!(q.dlq().len().await.unwrap(), 0);
        let got = q.receive(10, VISIBILITY).await.unwrap();
        assert_eq!((got[0].body.as_str(), got[0].receive_count), ("poison", 1));
    }

    #[tokio::test]
    async fn messages_survive_reopening_the_file() {
        let path = std::env::temp_dir().join(format!("queue-{}.sqlite", uuid::Uuid::new_v4()));
        {
            let store = EmbeddedStore::open(&path).unwrap();
            store.queue("q").send("kept", None, None).await.unwrap();
        }
        let store = EmbeddedStore::open(&path).unwrap();
        let got = store.queue("q").receive(10, VISIBILITY).await.unwrap();
        assert_eq!(got[0].body, "kept");
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
