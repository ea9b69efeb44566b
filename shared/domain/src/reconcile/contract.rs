//! The contract every [`ReconcileProgress`] adapter must pass (feature `test-support`): one body
//! per behaviour, each given a fresh, empty store. `tests/tests/suite/reconcile.rs` runs every
//! body against every adapter (memory, SQLite, DynamoDB).

use super::*;
use chrono::TimeZone;

fn cursor(id: &str, nanos: u32) -> Cursor {
    Cursor {
        created_at: Utc
            .with_ymd_and_hms(2026, 11, 30, 12, 0, 0)
            .single()
            .unwrap_or_default()
            + chrono::Duration::nanoseconds(i64::from(nanos)),
        order_id: id.to_string(),
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    ok.then_some(()).ok_or_else(|| format!("failed: {what}"))
}

/// A fresh store has no cursor; a saved one reads back exactly (to the nanosecond), a second save
/// replaces it, and saving `None` clears it.
pub async fn cursor_round_trips_and_clears(store: &dyn ReconcileProgress) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    check(
        store.load_cursor().await.map_err(err)?.is_none(),
        "a fresh store has no cursor",
    )?;
    let first = cursor("SLR-7Q2M9K4D1X8B5N3R6T0V", 123_456_789);
    store.save_cursor(Some(&first)).await.map_err(err)?;
    check(
        store.load_cursor().await.map_err(err)? == Some(first),
        "the saved cursor reads back",
    )?;
    let second = cursor("SLR-000000000000000000AB", 0);
    store.save_cursor(Some(&second)).await.map_err(err)?;
    check(
        store.load_cursor().await.map_err(err)? == Some(second),
        "a second save replaces the first",
    )?;
    store.save_cursor(None).await.map_err(err)?;
    check(
        store.load_cursor().await.map_err(err)?.is_none(),
        "saving None clears it",
    )?;
    store.save_cursor(None).await.map_err(err)?;
    check(
        store.load_cursor().await.map_err(err)?.is_none(),
        "clearing twice is fine",
    )
}
