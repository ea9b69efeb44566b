//! The store's own refusal of a non-positive hold (issue 12, item 1): a line of 0 or fewer units
//! would *add* sellable stock when held, and give units back twice when released or shipped. The
//! domain's placement validation refuses such lines first; these bodies show that each order
//! store refuses them too, writing nothing, whatever reaches it.

use super::{Subject, W1, base_time, created, level, new_id, order};
use domain::order::OrderStatus;
use domain::ports::{PlaceOutcome, StockEffect};

pub async fn a_hold_of_zero_or_fewer_units_is_refused_by_the_store_writing_nothing(s: Subject) {
    s.writer
        .upsert_sku(&super::sku("a", &[(W1, 5)]))
        .await
        .unwrap();
    for q in [0, -1, -3, i64::MIN] {
        // With a positive line beside it, the sum per location would look like a normal hold.
        let bad = order(
            &new_id("o"),
            &new_id("m"),
            &[("a", W1, 4), ("a", W1, q)],
            base_time(),
        );
        let outcome = s.orders.create_reserved(&bad).await;
        assert!(
            !matches!(
                outcome,
                Ok(PlaceOutcome::Created(_) | PlaceOutcome::Existing(_))
            ),
            "a line of {q} units: {outcome:?}"
        );
        assert_eq!(
            s.level("a", W1).await,
            level(5, 0),
            "{q} units: nothing held"
        );
        assert_eq!(s.orders.get(&bad.order_id).await.unwrap(), None);
        assert_eq!(
            s.orders
                .get_by_marketplace_id(&bad.an, &bad.marketplace_order_id)
                .await
                .unwrap(),
            None
        );
    }
}

pub async fn a_release_or_shipment_of_zero_or_fewer_units_is_refused_writing_nothing(s: Subject) {
    s.writer
        .upsert_sku(&super::sku("a", &[(W1, 5)]))
        .await
        .unwrap();
    let placed = created(
        s.orders
            .create_reserved(&order(
                &new_id("o"),
                &new_id("m"),
                &[("a", W1, 2)],
                base_time(),
            ))
            .await
            .unwrap(),
    );
    for (effect, status) in [
        (StockEffect::Release, OrderStatus::Canceled),
        (StockEffect::Ship, OrderStatus::Invoiced),
    ] {
        for q in [0, -2] {
            let mut bad = placed.clone();
            bad.status = status;
            bad.lines[0].quantity = q;
            let outcome = s.orders.save(&bad, effect).await;
            assert!(outcome.is_err(), "{effect:?} of {q} units: {outcome:?}");
            assert_eq!(s.level("a", W1).await, level(5, 2), "{effect:?} of {q}");
            let stored = s.orders.get(&placed.order_id).await.unwrap().unwrap();
            assert_eq!(
                (stored.status, stored.version),
                (OrderStatus::Reserved, placed.version),
                "{effect:?} of {q}: the order is as it was"
            );
        }
    }
}
