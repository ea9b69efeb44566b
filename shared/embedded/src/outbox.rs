//! The outbox table (`outbox`: one row per undelivered ERP event, keyed by its `event_id`, with the
//! event as the ERP queue will receive it). Rows are written in the order save's transaction
//! ([`write`]); the relay reads them oldest first and deletes each on the `written_at` it read.

use crate::{EmbeddedStore, sql_error, to_json};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::outbox::{Outbox, OutboxRecord};
use domain::ports::{OrderEvent, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// RFC 3339 in UTC with nanoseconds, always the same width, so text order is time order.
fn fixed_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// How a write treats a record already pending under the same event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfPending {
    /// A state change owes the event as it builds it now.
    Replace,
    /// A replay: the pending record (its age, its delete condition) stays as it is.
    Keep,
}

/// Writes a row per event inside the caller's transaction.
pub(crate) fn write(
    conn: &Connection,
    events: &[(String, String, String)],
    written_at: DateTime<Utc>,
    if_pending: IfPending,
) -> Result<(), StoreError> {
    let sql = match if_pending {
        IfPending::Replace => {
            "INSERT OR REPLACE INTO outbox (event_id, order_id, written_at, event)
             VALUES (?1, ?2, ?3, ?4)"
        }
        IfPending::Keep => {
            "INSERT OR IGNORE INTO outbox (event_id, order_id, written_at, event)
             VALUES (?1, ?2, ?3, ?4)"
        }
    };
    let at = fixed_time(written_at);
    for (event_id, order_id, body) in events {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute(params![event_id, order_id, at, body]))
            .map_err(sql_error)?;
    }
    Ok(())
}

/// `(event_id, order_id, body)` of each event, serialized before the transaction starts.
pub(crate) fn rows(events: &[OrderEvent]) -> Result<Vec<(String, String, String)>, StoreError> {
    events
        .iter()
        .map(|e| {
            Ok((
                e.event_id.clone(),
                e.order_id.clone(),
                to_json("order event", e)?,
            ))
        })
        .collect()
}

fn record_from_row(written_at: &str, body: &str) -> Result<OutboxRecord, StoreError> {
    let event: OrderEvent = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("outbox event does not parse: {e}")))?;
    let written_at = DateTime::parse_from_rfc3339(written_at)
        .map_err(|e| StoreError::Corrupt(format!("outbox written_at {written_at:?}: {e}")))?
        .with_timezone(&Utc);
    Ok(OutboxRecord { event, written_at })
}

impl EmbeddedStore {
    /// Records the events without a state change ([`domain::ports::OrderStore::emit`]).
    pub(crate) async fn emit_events(&self, events: &[OrderEvent]) -> Result<(), StoreError> {
        let rows = rows(events)?;
        let now = self.clock.now();
        self.with_conn(move |conn| write(conn, &rows, now, IfPending::Keep))
            .await
    }
}

#[async_trait]
impl Outbox for EmbeddedStore {
    async fn pending(
        &self,
        written_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let before = written_before.map(fixed_time);
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT written_at, event FROM outbox
                     WHERE ?1 IS NULL OR written_at <= ?1
                     ORDER BY written_at, event_id LIMIT ?2",
                )
                .map_err(sql_error)?;
            let rows = stmt
                .query_map(params![before, limit], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(sql_error)?;
            let mut out = Vec::new();
            for row in rows {
                let (at, body) = row.map_err(sql_error)?;
                out.push(record_from_row(&at, &body)?);
            }
            Ok(out)
        })
        .await
    }

    async fn record(&self, event_id: &str) -> Result<Option<OutboxRecord>, StoreError> {
        let id = event_id.to_string();
        self.with_conn(move |conn| {
            let row: Option<(String, String)> = conn
                .prepare_cached("SELECT written_at, event FROM outbox WHERE event_id = ?1")
                .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(sql_error)?;
            row.map(|(at, body)| record_from_row(&at, &body))
                .transpose()
        })
        .await
    }

    async fn mark_delivered(&self, record: &OutboxRecord) -> Result<bool, StoreError> {
        let (id, at) = (record.event_id().to_string(), fixed_time(record.written_at));
        self.with_conn(move |conn| {
            let deleted = conn
                .execute(
                    "DELETE FROM outbox WHERE event_id = ?1 AND written_at = ?2",
                    params![id, at],
                )
                .map_err(sql_error)?;
            Ok(deleted > 0)
        })
        .await
    }
}
