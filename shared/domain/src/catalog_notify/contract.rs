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

/// Listing walks every stored state once, batch after batch, each row as it was written, and
/// says when it is done; an empty store lists nothing.
pub async fn listing_walks_every_state_once<S: SyncStateStore + SyncStateListing>(
    store: &S,
) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let empty = store.list_sync_states(None, 10).await.map_err(e)?;
    if !empty.rows.is_empty() || empty.next.is_some() {
        return Err(format!("an empty store listed {empty:?}"));
    }
    let mut written = std::collections::BTreeMap::new();
    for i in 0..7u64 {
        let mut s = SyncState::default();
        s.price.changes = i + 1;
        s.inventory.notified = i;
        let sku = format!("sku-{i:02}");
        if !store.put_sync_state(&sku, &s, 0).await.map_err(e)? {
            return Err(format!("create of {sku} refused"));
        }
        written.insert(sku, s);
    }
    let mut seen = std::collections::BTreeMap::new();
    let mut after: Option<String> = None;
    for _ in 0..20 {
        let batch = store
            .list_sync_states(after.as_deref(), 3)
            .await
            .map_err(e)?;
        if batch.rows.len() > 3 {
            return Err(format!("a batch of 3 held {}", batch.rows.len()));
        }
        for row in batch.rows {
            if seen.insert(row.sku_id.clone(), row.state).is_some() {
                return Err(format!("{} listed twice", row.sku_id));
            }
        }
        match batch.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    if seen != written {
        return Err(format!("listed {seen:?}, wrote {written:?}"));
    }
    Ok(())
}

/// The operator's page keeps only what the filter asks for (pending: changes no accepted
/// notification covers; overdue: and a follow-up past due), pages on from its cursor, and shows
/// each SKU's last sync as the newest accepted notification of any kind.
pub async fn listing_filters_pending_and_pages<S: SyncStateStore + SyncStateListing>(
    store: &S,
) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    let t = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| e.to_string())
    };
    let now = t("2030-01-01T12:00:00Z")?;
    for i in 0..9u64 {
        let mut s = SyncState::default();
        s.catalog.last_sent_at = Some(t("2030-01-01T10:00:00Z")?);
        s.price.last_sent_at = Some(t("2030-01-01T11:00:00Z")?);
        s.price.changes = 2;
        s.price.notified = if i % 3 == 0 { 1 } else { 2 };
        if i == 3 {
            s.price.followup_due = Some(t("2030-01-01T11:30:00Z")?);
        }
        if i == 6 {
            s.price.followup_due = Some(t("2030-01-01T12:30:00Z")?);
        }
        store
            .put_sync_state(&format!("p-{i}"), &s, 0)
            .await
            .map_err(e)?;
    }
    let mut pending = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let page = sync_page(store, SyncFilter::Pending, after.as_deref(), 2, now)
            .await
            .map_err(e)?;
        if page.rows.len() > 2 {
            return Err(format!("a page of 2 held {}", page.rows.len()));
        }
        for r in &page.rows {
            if r.last_sync() != Some(t("2030-01-01T11:00:00Z")?) {
                return Err(format!("{}: last sync {:?}", r.sku_id, r.last_sync()));
            }
            if r.pending_kinds() != vec![NotifyKind::Price] {
                return Err(format!("{}: pending {:?}", r.sku_id, r.pending_kinds()));
            }
        }
        pending.extend(page.rows.into_iter().map(|r| r.sku_id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    pending.sort();
    if pending != ["p-0", "p-3", "p-6"] {
        return Err(format!("pending SKUs listed: {pending:?}"));
    }
    let overdue = sync_page(store, SyncFilter::Overdue, None, 10, now)
        .await
        .map_err(e)?;
    let ids: Vec<_> = overdue.rows.iter().map(|r| r.sku_id.as_str()).collect();
    if ids != ["p-3"] || overdue.next.is_some() {
        return Err(format!("overdue: {ids:?}, next {:?}", overdue.next));
    }
    let all = sync_page(store, SyncFilter::All, None, 100, now)
        .await
        .map_err(e)?;
    if all.rows.len() != 9 || all.next.is_some() {
        return Err(format!("all: {} rows, next {:?}", all.rows.len(), all.next));
    }
    Ok(())
}
