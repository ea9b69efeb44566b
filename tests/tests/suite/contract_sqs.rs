//! `SqsOrderEvents` against a FIFO queue in moto (`tests/run.sh`).

use aws_adapters::sqs::SqsOrderEvents;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use connector_tests::aws_env;
use domain::ports::{OrderEvent, OrderEventKind, OrderEventLine, OrderEvents};

fn event(order_id: &str, kind: OrderEventKind) -> OrderEvent {
    OrderEvent {
        kind,
        version: 1,
        event_id: format!("{order_id}:{kind:?}"),
        order_id: order_id.into(),
        marketplace_order_id: "m-1".into(),
        an: "mkp".into(),
        at: connector_tests::contract::base_time(),
        lines: vec![OrderEventLine {
            sku_id: "a".into(),
            quantity: 2,
            location_id: "w1".into(),
        }],
        reason: None,
    }
}

#[tokio::test]
async fn order_events_reach_the_fifo_queue_grouped_by_order_and_deduplicated() {
    let Some(config) = aws_env::moto().await else {
        return;
    };
    let client = aws_sdk_sqs::Client::new(&config);
    let url = aws_env::fifo_queue(&client, "events").await;
    let events = SqsOrderEvents::new(client.clone(), &url);

    let authorized = event("o-1", OrderEventKind::Authorized);
    events.publish(&authorized).await.unwrap();
    events.publish(&authorized).await.unwrap(); // a retry: same event id
    let canceled = event("o-1", OrderEventKind::Canceled);
    events.publish(&canceled).await.unwrap();

    let mut received = Vec::new();
    for _ in 0..5 {
        let out = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            received.push(m.clone());
            client
                .delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if received.len() >= 2 {
            break;
        }
    }
    let bodies: Vec<OrderEvent> = received
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![authorized, canceled],
        "in order, the retry dropped"
    );
    let first = &received[0];
    let system = first.attributes().unwrap();
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::MessageGroupId)
            .map(String::as_str),
        Some("o-1")
    );
    assert_eq!(
        first.message_attributes().unwrap()["type"].string_value(),
        Some("order.authorized")
    );
}
