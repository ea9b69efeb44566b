//! The AWS-speaking test server (moto, started by `tests/run.sh`) and fresh, uniquely named
//! tables and queues in it.

use aws_sdk_sqs::types::QueueAttributeName;

/// The SDK configuration for moto, or `None` (after printing "skipped: no AWS_ENDPOINT_URL")
/// when no endpoint is configured. Panics instead of skipping when `CONNECTOR_TEST_REQUIRE_AWS=1`
/// (as `tests/run.sh` sets), so a CI run can never pass by skipping.
pub async fn moto() -> Option<aws_config::SdkConfig> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if endpoint.trim().is_empty() {
        if std::env::var("CONNECTOR_TEST_REQUIRE_AWS").as_deref() == Ok("1") {
            panic!("CONNECTOR_TEST_REQUIRE_AWS=1 but AWS_ENDPOINT_URL is unset; run tests/run.sh");
        }
        eprintln!("skipped: no AWS_ENDPOINT_URL");
        return None;
    }
    Some(aws_adapters::sdk_config().await)
}

/// `{prefix}-{random}`: a name no other test (or earlier run against the same server) uses.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Fresh catalog and orders tables (created as `template.yaml` declares them); returns the client
/// and the `(catalog, orders)` table names.
pub async fn dynamo_tables(
    config: &aws_config::SdkConfig,
) -> (aws_sdk_dynamodb::Client, String, String) {
    let client = aws_sdk_dynamodb::Client::new(config);
    let (catalog, orders) = aws_adapters::schema::create_tables(&client, &unique_name("test"))
        .await
        .expect("create tables in moto");
    (client, catalog, orders)
}

/// A fresh FIFO queue (explicit de-duplication ids, as the template's `OrderEventsQueue`);
/// returns its URL.
pub async fn fifo_queue(client: &aws_sdk_sqs::Client, prefix: &str) -> String {
    client
        .create_queue()
        .queue_name(format!("{}.fifo", unique_name(prefix)))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .send()
        .await
        .expect("create FIFO queue in moto")
        .queue_url
        .expect("CreateQueue returns a URL")
}
