//! The order log's cap (`domain::order_log`) on every store: after more appends than the cap, each
//! store holds exactly the log the policy gives (kept entries in order, the oldest folded into one
//! summary), and never more than the cap.

use aws_adapters::dynamo::DynamoOrders;
use chrono::{Duration, TimeZone, Utc};
use connector_tests::aws_env;
use connector_tests::contract::TempPath;
use domain::order::{LogEntry, Outcome};
use domain::order_log::{LOG_CAP, LOG_FOLD, LogSummary, SUMMARY_STEP, fold_in_place};
use domain::ports::OrderStore;

/// Past the cap by two folds and a bit: the second fold folds the first summary again.
const APPENDS: u64 = LOG_CAP + 2 * LOG_FOLD + 5;

fn entry(i: u64) -> LogEntry {
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::milliseconds(i as i64);
    let outcome = if i == 3 {
        Outcome::Error
    } else {
        Outcome::Success
    };
    LogEntry::new(
        at,
        format!("dispatch.step{}", i % 4),
        outcome,
        format!("entry {i}"),
    )
}

async fn appends_fold_as_the_policy_says(store: &dyn OrderStore) {
    let mut expected = Vec::new();
    for i in 0..APPENDS {
        store.append_log("SLR-LOG", &entry(i)).await.unwrap();
        expected.push(entry(i));
        fold_in_place(&mut expected);
    }
    let log = store.read_log("SLR-LOG").await.unwrap();
    assert!(log.len() as u64 <= LOG_CAP, "{} entries kept", log.len());
    assert_eq!(log.len(), expected.len());
    assert_eq!(log, expected, "the stored log is the policy's log");
    assert_eq!(log[0].step, SUMMARY_STEP);
    assert_eq!(
        log[0].outcome,
        Outcome::Error,
        "the folded error still shows"
    );
    let summary: LogSummary = serde_json::from_str(&log[0].detail).unwrap();
    assert_eq!(summary.summarized + log.len() as u64 - 1, APPENDS);
    assert!(
        store.read_log("SLR-OTHER").await.unwrap().is_empty(),
        "another order's log is untouched"
    );
}

#[tokio::test]
async fn the_memory_store_caps_the_order_log() {
    appends_fold_as_the_policy_says(&domain::memory::MemoryStore::default()).await;
}

#[tokio::test]
async fn the_embedded_store_caps_the_order_log() {
    let path = TempPath::new("log-cap");
    let store = embedded_store::EmbeddedStore::open(&path.0).unwrap();
    appends_fold_as_the_policy_says(&store).await;
}

#[tokio::test]
async fn the_dynamodb_store_caps_the_order_log() {
    let Some(config) = aws_env::moto().await else {
        return;
    };
    let (client, catalog, orders) = aws_env::dynamo_tables(&config).await;
    appends_fold_as_the_policy_says(&DynamoOrders::new(client, orders, catalog)).await;
}
