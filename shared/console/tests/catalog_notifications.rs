//! The catalog page's notification list over the embedded store, as an operator reads it: SKUs
//! owing VTEX a notification (per kind), follow-ups past due, the last sync, paging, and the
//! notifications VTEX refused, parked in the catalog queue's DLQ.

use chrono::{DateTime, Utc};
use domain::catalog_notify::{NotifyDue, NotifyKind, SyncState, SyncStateStore};
use domain::clock::ManualClock;
use domain::erp::{DispatchQueue, QueuedMessage};
use domain::listing::OrderBoard;
use embedded_store::EmbeddedStore;
use embedded_store::listing::LocalParked;
use std::sync::Arc;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn serve(store: &EmbeddedStore) -> String {
    let shared = Arc::new(store.clone());
    let console = console_ui::Console {
        catalog: shared.clone(),
        sync: shared.clone(),
        board: OrderBoard {
            listing: shared.clone(),
            orders: shared,
            parked: Arc::new(LocalParked::new(store, &["catalog"])),
            clock: Arc::new(ManualClock::new(t("2030-01-01T12:00:00Z"))),
        },
        invoices: Arc::new(embedded_store::invoices::SqliteInvoices::new(store).unwrap()),
        base: "/console".into(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, console_ui::router(Arc::new(console)))
            .await
            .unwrap();
    });
    format!("http://{addr}/console")
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The rows of the SKU list: one `<tr>` per SKU and kind, the SKU cell first.
fn listed_skus(page: &str) -> Vec<String> {
    let Some(start) = page.find("id=\"sync-list\"") else {
        return Vec::new();
    };
    let table = &page[start..page[start..].find("</table>").unwrap() + start];
    let mut out: Vec<String> = table
        .split("<td data-label=\"SKU\">")
        .skip(1)
        .map(|cell| cell[..cell.find('<').unwrap()].to_string())
        .collect();
    out.dedup();
    out
}

fn next_link(page: &str, base: &str) -> Option<String> {
    let at = page.find("rel=\"next\"")?;
    let href = page[..at].rfind("href=\"")? + 6;
    let end = page[href..].find('"')? + href;
    let path = page[href..end].replace("&amp;", "&");
    Some(format!("{}{}", base.trim_end_matches("/console"), path))
}

#[tokio::test]
async fn catalog_page_lists_pending_notifications_last_sync_and_refused_ones() {
    let store = EmbeddedStore::open_in_memory().unwrap();
    // 30 SKUs synced; every third owes a price notification; SKU 03's follow-up is past due.
    for i in 0..30 {
        let mut s = SyncState::default();
        s.inventory.changes = 4;
        s.inventory.notified = 4;
        s.inventory.last_sent_at = Some(t("2030-01-01T11:00:00Z"));
        s.price.last_sent_at = Some(t("2030-01-01T09:00:00Z"));
        s.price.changes = 1;
        s.price.notified = if i % 3 == 0 { 0 } else { 1 };
        if i == 3 {
            s.price.followup_due = Some(t("2030-01-01T11:59:00Z"));
        }
        assert!(
            store
                .put_sync_state(&format!("sku-{i:02}"), &s, 0)
                .await
                .unwrap()
        );
    }
    // VTEX refused a catalog notification of SKU 07 for good: the catalog sync parked it.
    let due = NotifyDue {
        sku_id: "sku-07".into(),
        kind: NotifyKind::Catalog,
        due: t("2030-01-01T10:00:00Z"),
    };
    let (body, group) = (due.to_json(), due.group_id());
    store
        .queue("catalog")
        .dead_letter(
            &QueuedMessage {
                message_id: "m-1",
                receipt_handle: "m-1",
                body: &body,
                group_id: Some(&group),
            },
            "VTEX_4XX",
            "catalog: VTEX refused it with 403",
        )
        .await
        .unwrap();
    let base = serve(&store).await;

    // Default: the SKUs with a pending notification, all ten on one page.
    let (status, page) = get(&format!("{base}/catalog")).await;
    assert_eq!(status, 200, "{page}");
    let pending: Vec<String> = (0..30).step_by(3).map(|i| format!("sku-{i:02}")).collect();
    assert_eq!(listed_skus(&page), pending);
    assert!(page.contains("1 (1 pending)"), "{page}");
    assert!(
        page.contains("2030-01-01 11:00:00 UTC"),
        "last sync = newest accepted: {page}"
    );
    assert!(page.contains("2030-01-01 11:59:00 UTC (overdue)"), "{page}");
    assert!(next_link(&page, &base).is_none(), "one page only");
    // The refused notification, with its reason.
    let refused = &page[page.find("id=\"refused-list\"").expect("refused list")..];
    assert!(
        refused.contains("sku-07")
            && refused.contains("VTEX_4XX")
            && refused.contains("refused it with 403"),
        "{refused}"
    );

    // Overdue only.
    let (_, page) = get(&format!("{base}/catalog?sync=overdue")).await;
    assert_eq!(listed_skus(&page), ["sku-03"]);

    // Every SKU, 25 a page: the next page holds the last five, and then no more.
    let (_, first) = get(&format!("{base}/catalog?sync=all")).await;
    let first_skus = listed_skus(&first);
    assert_eq!(first_skus.len(), console_ui::SYNC_PAGE_SIZE);
    let next = next_link(&first, &base).expect("a next page");
    let (_, second) = get(&next).await;
    let mut all = first_skus;
    all.extend(listed_skus(&second));
    let expected: Vec<String> = (0..30).map(|i| format!("sku-{i:02}")).collect();
    assert_eq!(all, expected);
    assert!(next_link(&second, &base).is_none());

    // A filter that is not one is the caller's to fix.
    let (status, _) = get(&format!("{base}/catalog?sync=bogus")).await;
    assert_eq!(status, 400);
}
