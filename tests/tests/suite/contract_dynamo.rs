//! The storage contracts on the DynamoDB adapters, against moto (`tests/run.sh`), fresh tables
//! per test created by `aws_adapters::schema` as `template.yaml` declares them.

use aws_adapters::dynamo::{DynamoCatalog, DynamoOrders};
use connector_tests::aws_env;
use connector_tests::contract::Subject;
use std::sync::Arc;

async fn subject() -> Option<Subject> {
    let config = aws_env::moto().await?;
    let (client, catalog, orders) = aws_env::dynamo_tables(&config).await;
    let catalog_adapter = DynamoCatalog::new(client.clone(), &catalog);
    Some(Subject {
        reader: Arc::new(catalog_adapter.clone()),
        writer: Arc::new(catalog_adapter),
        orders: Arc::new(DynamoOrders::new(client, orders, catalog)),
        guards: Vec::new(),
    })
}

connector_tests::contract_tests!(subject());

connector_tests::invoice_store_contract_tests!(async {
    let config = aws_env::moto().await?;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = aws_env::unique_name("invoices");
    aws_adapters::invoices::create_invoices_table(&client, &table)
        .await
        .expect("create the invoices table in moto");
    Some((
        aws_adapters::invoices::DynamoInvoices::new(client, table),
        (),
    ))
});
connector_tests::sync_state_contract_tests!(async {
    let config = aws_env::moto().await?;
    let (client, catalog, _orders) = aws_env::dynamo_tables(&config).await;
    Some((
        aws_adapters::dynamo::DynamoSyncStates::new(client, catalog),
        (),
    ))
});
connector_tests::import_store_contract_tests!(async {
    let config = aws_env::moto().await?;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = aws_env::unique_name("imports");
    aws_adapters::imports::create_imports_table(&client, &table)
        .await
        .expect("create the imports table in moto");
    Some((aws_adapters::imports::DynamoImports::new(client, table), ()))
});

mod round_trips {
    use super::*;
    use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
    use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
    use aws_sdk_dynamodb::error::BoxError;
    use connector_tests::contract::{W1, sku};
    use domain::ports::{CatalogReader, CatalogWriter};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts BatchGetItem requests leaving the client, retries included.
    #[derive(Debug, Default, Clone)]
    struct BatchGetCounter(Arc<AtomicUsize>);

    impl Intercept for BatchGetCounter {
        fn name(&self) -> &'static str {
            "BatchGetCounter"
        }

        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            if context
                .request()
                .headers()
                .get("x-amz-target")
                .is_some_and(|t| t.ends_with(".BatchGetItem"))
            {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn get_skus_costs_one_batch_get_per_hundred_distinct_ids() {
        let Some(config) = aws_env::moto().await else {
            return;
        };
        let (client, catalog, _) = aws_env::dynamo_tables(&config).await;
        let writer = DynamoCatalog::new(client, &catalog);
        for i in 0..3 {
            writer
                .upsert_sku(&sku(&format!("s{i}"), &[(W1, 1)]))
                .await
                .unwrap();
        }
        let counter = BatchGetCounter::default();
        let counted = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&config)
                .interceptor(counter.clone())
                .build(),
        );
        let reader = DynamoCatalog::new(counted, &catalog);

        // 201 distinct ids, most of them twice.
        let mut ids: Vec<String> = (0..201).map(|i| format!("s{i}")).collect();
        ids.extend((0..150).map(|i| format!("s{i}")));
        let got = reader.get_skus(&ids).await.unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(counter.0.load(Ordering::SeqCst), 3);

        counter.0.store(0, Ordering::SeqCst);
        reader.get_skus(&[]).await.unwrap();
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            0,
            "nothing to read, no request"
        );
    }
}
