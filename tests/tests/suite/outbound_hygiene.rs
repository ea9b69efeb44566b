//! Issue 13, item 5, through a worker: whatever `Retry-After` VTEX sends, the catalog sync neither
//! panics on date arithmetic nor parks the message; it comes back later. (The client-level checks
//! of the cap, of redirects, of the answer size limit and of ids that would leave their path
//! segment are `vtex::client`'s tests.)

use crate::catalog_sync_support::{bench, sample_body};
use vtex_standin::FaultPlan;

#[tokio::test]
async fn an_absurd_retry_after_from_vtex_neither_panics_the_catalog_sync_nor_parks_the_message() {
    let Some(b) = bench(chrono::Duration::seconds(60)).await else {
        return;
    };
    b.standin.state().set_faults(FaultPlan {
        next: vec![429],
        // About three million years: `now + wait` overflows chrono unless the wait is capped.
        retry_after: Some(99_999_999_999_999),
        ..FaultPlan::default()
    });
    b.send(&sample_body("stock-changed")).await;
    let handled = b.pump_once().await;
    assert_eq!(handled, 1);
    let calls = b.standin.state().requests();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.status, c.faulted))
            .collect::<Vec<_>>(),
        vec![(429, true)]
    );
    assert!(
        b.parked().await.is_empty(),
        "a throttled call is never parked"
    );
    assert_eq!(b.notified("inventory", "2002495"), 0);
}
