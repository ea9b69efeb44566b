//! The contract every [`SyncStateStore`] adapter passes (feature `test-support`): one body per
//! behaviour, each given a fresh, empty store. `connector_tests::sync_state_contract_tests!` runs
//! every body against every adapter (memory, SQLite, DynamoDB).

use super::*;

/// A SKU never written reads as the default state, version 0.
pub async fn unknown_sku_reads_as_default(store: &dyn SyncStateStore) -> Result<(), String> {
    let fresh = store
        .get_sync_state("sku-1")
        .await
        .map_err(|e| e.to_string())?;
    if fresh != Versioned::default() {
        return Err(format!("unknown SKU should read as default, got {fresh:?}"));
    }
    Ok(())
}

/// Writes are conditional on the stored version: a missing state is created by expecting 0 only,
/// once; a write expecting a stale version is refused; what was written reads back.
pub async fn writes_are_conditional_on_the_version(
    store: &dyn SyncStateStore,
) -> Result<(), String> {
    let sku = "sku-1";
    let e = |e: StoreError| e.to_string();
    let mut s = SyncState::default();
    s.inventory.changes = 3;
    s.price.last_sent_at = Some(
        DateTime::parse_from_rfc3339("2030-01-02T03:04:05.678Z")
            .map_err(|e| e.to_string())?
            .with_timezone(&Utc),
    );
    s.catalog.followup_due = s.price.last_sent_at;
    if store.put_sync_state(sku, &s, 1).await.map_err(e)? {
        return Err("a write expecting version 1 created a missing state".into());
    }
    if !store.put_sync_state(sku, &s, 0).await.map_err(e)? {
        return Err("the first write (expecting 0) was refused".into());
    }
    if store.put_sync_state(sku, &s, 0).await.map_err(e)? {
        return Err("a second create (expecting 0) was accepted".into());
    }
    let read = store.get_sync_state(sku).await.map_err(e)?;
    if read.version != 1 || read.state != s {
        return Err(format!("read back {read:?}, wrote {s:?} as version 1"));
    }
    let mut s2 = s.clone();
    s2.inventory.notified = 3;
    if !store.put_sync_state(sku, &s2, 1).await.map_err(e)? {
        return Err("write expecting the current version was refused".into());
    }
    if store.put_sync_state(sku, &s, 1).await.map_err(e)? {
        return Err("write expecting a stale version was accepted".into());
    }
    let read = store.get_sync_state(sku).await.map_err(e)?;
    if read.version != 2 || read.state != s2 {
        return Err(format!("after the conflict read {read:?}"));
    }
    Ok(())
}

/// Concurrent [`update`]s of one SKU lose nothing.
pub async fn concurrent_updates_lose_nothing(store: &dyn SyncStateStore) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let sku = "sku-concurrent";
    let bumps = (0..5).map(|_| {
        update(store, sku, |s| {
            s.price.changes += 1;
        })
    });
    for r in futures::future::join_all(bumps).await {
        r.map_err(e)?;
    }
    let read = store.get_sync_state(sku).await.map_err(e)?;
    if read.state.price.changes != 5 {
        return Err(format!(
            "5 concurrent bumps gave {}",
            read.state.price.changes
        ));
    }
    Ok(())
}
