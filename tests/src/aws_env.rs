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
    create_fifo_queue(client, prefix, Vec::new()).await
}

/// A fresh FIFO queue, as the template's worker queues: explicit de-duplication ids, hidden for
/// `visibility_secs` per receive, moved to a fresh FIFO DLQ after `max_receives` receives.
/// Returns `(queue URL, DLQ URL)`.
pub async fn fifo_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    visibility_secs: u32,
    max_receives: u32,
) -> (String, String) {
    let dlq_url = fifo_queue(client, &format!("{prefix}-dlq")).await;
    let dlq_arn = queue_arn(client, &dlq_url).await;
    let queue_url = create_fifo_queue(
        client,
        prefix,
        vec![
            (
                QueueAttributeName::VisibilityTimeout,
                visibility_secs.to_string(),
            ),
            (
                QueueAttributeName::RedrivePolicy,
                redrive_policy(&dlq_arn, max_receives),
            ),
        ],
    )
    .await;
    (queue_url, dlq_url)
}

async fn create_fifo_queue(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> String {
    let mut create = client
        .create_queue()
        .queue_name(format!("{}.fifo", unique_name(prefix)))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
    for (k, v) in attributes {
        create = create.attributes(k, v);
    }
    create
        .send()
        .await
        .expect("create FIFO queue in moto")
        .queue_url
        .expect("CreateQueue returns a URL")
}

/// The ARN of the queue at `url` (for a redrive policy).
pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap()
}

/// The `RedrivePolicy` attribute parking a message in `dlq_arn` after `max_receives` receives.
pub fn redrive_policy(dlq_arn: &str, max_receives: u32) -> String {
    serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string()
}
