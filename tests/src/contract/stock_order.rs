//! The ordering contract of ERP stock counts ([`CatalogWriter::apply_stock_snapshot`]): a count
//! older than the last one applied, or not after the last shipment recorded at its location, is
//! refused by the store's own write, whatever the order of arrival or the concurrency.

use super::{Subject, W1, W2, base_time, created, level, new_id, order, saved, sku};
use chrono::{DateTime, Duration, Utc};
use domain::order::OrderStatus;
use domain::ports::{SnapshotOutcome, Stale, StockEffect, StockMarks, StockSnapshot};

fn count(sku: &str, location: &str, on_hand: i64, as_of: Option<DateTime<Utc>>) -> StockSnapshot {
    StockSnapshot {
        sku_id: sku.into(),
        location: location.into(),
        on_hand,
        as_of,
    }
}

impl Subject {
    async fn apply(&self, snapshot: StockSnapshot) -> SnapshotOutcome {
        self.writer
            .apply_stock_snapshot(&snapshot)
            .await
            .expect("apply_stock_snapshot")
    }

    async fn marks(&self, sku: &str, location: &str) -> StockMarks {
        self.writer
            .stock_location(sku, location)
            .await
            .expect("stock_location")
            .expect("the SKU exists")
            .marks
    }
}

pub async fn stock_counts_apply_in_as_of_order(s: Subject) {
    let t = base_time();
    s.writer.upsert_sku(&sku("a", &[(W1, 5)])).await.unwrap();
    assert_eq!(s.marks("a", W1).await, StockMarks::default());

    let newer = count("a", W1, 8, Some(t + Duration::minutes(2)));
    assert_eq!(
        s.apply(newer.clone()).await,
        SnapshotOutcome::Applied { previous: Some(5) }
    );
    // Delivered late: the older count changes nothing.
    assert_eq!(
        s.apply(count("a", W1, 20, Some(t + Duration::minutes(1))))
            .await,
        SnapshotOutcome::Stale(Stale::OlderThanApplied {
            applied: t + Duration::minutes(2)
        })
    );
    assert_eq!(s.level("a", W1).await, level(8, 0));
    // The same count again (a redelivery) is the same count: it applies.
    assert_eq!(
        s.apply(newer).await,
        SnapshotOutcome::Applied { previous: Some(8) }
    );
    assert_eq!(
        s.marks("a", W1).await,
        StockMarks {
            as_of: Some(t + Duration::minutes(2)),
            shipped_at: None
        }
    );
    // A count without an as-of applies as it always did, and leaves the mark.
    assert_eq!(
        s.apply(count("a", W1, 3, None)).await,
        SnapshotOutcome::Applied { previous: Some(8) }
    );
    assert_eq!(s.level("a", W1).await, level(3, 0));
    assert_eq!(s.marks("a", W1).await.as_of, Some(t + Duration::minutes(2)));

    // A new location starts with its first count's mark; an unknown SKU is reported.
    assert_eq!(
        s.apply(count("a", W2, 4, Some(t))).await,
        SnapshotOutcome::Applied { previous: None }
    );
    assert_eq!(s.level("a", W2).await, level(4, 0));
    assert!(matches!(
        s.apply(count("a", W2, 9, Some(t - Duration::seconds(1))))
            .await,
        SnapshotOutcome::Stale(_)
    ));
    assert_eq!(
        s.apply(count("nope", W1, 4, Some(t))).await,
        SnapshotOutcome::UnknownSku
    );
    assert!(s.writer.stock_location("nope", W1).await.unwrap().is_none());
    let fresh = s.writer.stock_location("a", "w9").await.unwrap().unwrap();
    assert_eq!((fresh.level, fresh.marks), (None, StockMarks::default()));
}

pub async fn a_shipment_refuses_the_counts_taken_before_it(s: Subject) {
    s.writer.upsert_sku(&sku("a", &[(W1, 10)])).await.unwrap();
    let placed = created(
        s.orders
            .create_reserved(&order(
                &new_id("o"),
                &new_id("m"),
                &[("a", W1, 3)],
                base_time(),
            ))
            .await
            .unwrap(),
    );
    let mut authorized = placed;
    authorized.status = OrderStatus::Authorized;
    let authorized = saved(s.orders.save(&authorized, StockEffect::None).await.unwrap());
    assert_eq!(s.marks("a", W1).await.shipped_at, None, "only a shipment");
    // The ERP counted 10 (the 3 units still on its shelf), then the order shipped.
    let counted = Utc::now() - Duration::seconds(1);
    let mut invoiced = authorized;
    invoiced.status = OrderStatus::Invoiced;
    saved(s.orders.save(&invoiced, StockEffect::Ship).await.unwrap());
    let shipped_at = s
        .marks("a", W1)
        .await
        .shipped_at
        .expect("the shipment is recorded");
    assert!(shipped_at > counted);
    assert_eq!(s.level("a", W1).await, level(7, 0));

    assert_eq!(
        s.apply(count("a", W1, 10, Some(counted))).await,
        SnapshotOutcome::Stale(Stale::NotAfterShipment { shipped_at })
    );
    assert_eq!(
        s.level("a", W1).await,
        level(7, 0),
        "the 3 units stay shipped"
    );
    // Counted at the very instant of the shipment: it may or may not include it.
    assert!(matches!(
        s.apply(count("a", W1, 10, Some(shipped_at))).await,
        SnapshotOutcome::Stale(_)
    ));
    let after = shipped_at + Duration::milliseconds(1);
    assert_eq!(
        s.apply(count("a", W1, 6, Some(after))).await,
        SnapshotOutcome::Applied { previous: Some(7) }
    );
    assert_eq!(s.level("a", W1).await, level(6, 0));
    // A catalog reload keeps both marks.
    s.writer.upsert_sku(&sku("a", &[(W1, 6)])).await.unwrap();
    assert_eq!(
        s.marks("a", W1).await,
        StockMarks {
            as_of: Some(after),
            shipped_at: Some(shipped_at)
        }
    );
}

pub async fn concurrent_stock_counts_end_in_as_of_order(s: Subject) {
    let t = base_time();
    s.writer.upsert_sku(&sku("a", &[(W1, 1)])).await.unwrap();
    // Twelve counts of one location, sent at once, newest first and oldest last.
    let mut tasks = Vec::new();
    for i in (0..12i64).rev() {
        let writer = s.writer.clone();
        tasks.push(tokio::spawn(async move {
            let at = t + Duration::seconds(i);
            writer
                .apply_stock_snapshot(&count("a", W1, 100 + i, Some(at)))
                .await
        }));
    }
    let mut applied = 0;
    for task in tasks {
        if let SnapshotOutcome::Applied { .. } = task.await.unwrap().unwrap() {
            applied += 1;
        }
    }
    assert!(applied >= 1);
    assert_eq!(
        s.level("a", W1).await,
        level(111, 0),
        "the newest count wins"
    );
    assert_eq!(
        s.marks("a", W1).await.as_of,
        Some(t + Duration::seconds(11))
    );
}
