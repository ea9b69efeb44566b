//! The order log's cap in the embedded store ([`domain::order_log`]): the append and the fold are one
//! SQLite transaction, so the log is never seen half folded.

use crate::{decode, encode, sql_error};
use domain::order::LogEntry;
use domain::order_log::{LOG_FOLD, fold, must_fold};
use domain::ports::StoreError;
use rusqlite::{Connection, params};

/// Appends `entry` to `order_id`'s log, folding its oldest entries when it passes the cap.
pub(crate) fn append(
    conn: &mut Connection,
    order_id: &str,
    entry: &LogEntry,
) -> Result<(), StoreError> {
    let data = encode(entry)?;
    let tx = conn.transaction().map_err(sql_error)?;
    tx.execute(
        "INSERT INTO order_log (order_id, data) VALUES (?1, ?2)",
        params![order_id, data],
    )
    .map_err(sql_error)?;
    let count: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM order_log WHERE order_id = ?1",
            [order_id],
            |row| row.get(0),
        )
        .map_err(sql_error)?;
    if must_fold(count as u64) {
        let oldest: Vec<(i64, String)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, data FROM order_log WHERE order_id = ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(sql_error)?;
            let rows = stmt
                .query_map(params![order_id, LOG_FOLD as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .map_err(sql_error)?;
            rows.collect::<Result<_, _>>().map_err(sql_error)?
        };
        let entries = oldest
            .iter()
            .map(|(_, data)| decode::<LogEntry>(data))
            .collect::<Result<Vec<_>, _>>()?;
        let (first_seq, last_seq) = (oldest[0].0, oldest[oldest.len() - 1].0);
        tx.execute(
            "DELETE FROM order_log WHERE order_id = ?1 AND seq BETWEEN ?2 AND ?3",
            params![order_id, first_seq, last_seq],
        )
        .map_err(sql_error)?;
        // The summary takes the oldest folded entry's place in the sequence: it stays first.
        tx.execute(
            "INSERT INTO order_log (seq, order_id, data) VALUES (?1, ?2, ?3)",
            params![first_seq, order_id, encode(&fold(&entries))?],
        )
        .map_err(sql_error)?;
    }
    tx.commit().map_err(sql_error)
}
