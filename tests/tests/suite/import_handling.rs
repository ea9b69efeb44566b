//! Start-handling against a VTEX that is not ready yet (moto + the VTEX stand-in): `409 OMS003`
//! until the order leaves the grace period, then `204`; every new attempt arrives as a delayed
//! queue message, never as a sleeping Lambda.

use crate::import_support::{Options, bench, order_message_for};
use domain::import::ImportStep;
use domain::order::Outcome;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_handling_answers_409_until_vtex_is_ready_then_204() {
    let Some(b) = bench(Options {
        grace: Duration::ZERO,
        not_ready_retry: Duration::from_secs(1),
        standin_grace: Duration::from_secs(3),
        max_receives: 3,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let mkp = "2630580124-409";
    let mut msg = order_message_for(mkp);
    msg["invoices"] = serde_json::json!([]);
    b.send(&msg).await;
    b.pump().await;

    let vtex_id = format!("EXT-{mkp}");
    let statuses: Vec<u16> = b
        .calls("POST", &format!("{vtex_id}/start-handling"))
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(statuses.len() >= 2, "{statuses:?}");
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 409),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&204));
    let rec = b.record(mkp).await;
    assert_eq!(rec.step, ImportStep::Handling);
    assert_eq!(rec.not_ready_answers as usize, statuses.len() - 1);

    // Each retry came through the queue after its delay (1 s), not straight away.
    let log = b.log(mkp).await;
    let attempts: Vec<chrono::DateTime<chrono::Utc>> = log
        .iter()
        .filter(|e| e.step == "import.startHandling")
        .map(|e| e.at)
        .collect();
    assert_eq!(attempts.len(), statuses.len());
    for pair in attempts.windows(2) {
        assert!(
            pair[1] - pair[0] >= chrono::Duration::milliseconds(900),
            "{attempts:?}"
        );
    }
    assert!(
        log.iter()
            .any(|e| e.outcome == Outcome::Pending && e.detail.contains("not ready for handling"))
    );
    // Waiting never used up the message's receives: nothing was parked.
    assert_eq!(b.drain_dlq().await.len(), 0);
}
