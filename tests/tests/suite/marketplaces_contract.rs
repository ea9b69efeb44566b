//! The marketplace registry's contract ([`domain::marketplaces::contract`]) on its three adapters:
//! memory, the embedded SQLite store (a fresh file per test) and DynamoDB (moto, a fresh table per
//! test created as `template.yaml` declares it).

use connector_tests::aws_env;
use connector_tests::contract::TempPath;

mod on_memory {
    connector_tests::port_contract_tests!(marketplaces; async {
        Some((domain::marketplaces::MemoryRegistry::new(), ()))
    };
        put_and_get_round_trip,
        put_replaces,
        list_is_sorted_and_complete,
        disable_keeps_the_entry,
    );
}

mod on_sqlite {
    use super::*;
    connector_tests::port_contract_tests!(marketplaces; async {
        let path = TempPath::new("marketplaces");
        let store = embedded_store::EmbeddedStore::open(&path.0).expect("open store file");
        let registry = embedded_store::marketplaces::SqliteRegistry::new(&store)
            .expect("marketplaces table");
        Some((registry, path))
    };
        put_and_get_round_trip,
        put_replaces,
        list_is_sorted_and_complete,
        disable_keeps_the_entry,
    );
}

mod on_dynamo {
    use super::*;
    connector_tests::port_contract_tests!(marketplaces; async {
        let config = aws_env::moto().await?;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let table = aws_env::unique_name("marketplaces");
        aws_adapters::marketplaces::create_marketplaces_table(&client, &table)
            .await
            .expect("create the marketplaces table in moto");
        Some((aws_adapters::marketplaces::DynamoRegistry::new(client, table), ()))
    };
        put_and_get_round_trip,
        put_replaces,
        list_is_sorted_and_complete,
        disable_keeps_the_entry,
    );
}
