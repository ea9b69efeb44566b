//! Creates the tables exactly as `template.yaml` declares them (keys, the sparse `gsi1`,
//! on-demand billing), for tests and local tools. Production tables come from the template.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};

pub use crate::dynamo::GSI1;
pub use crate::dynamo::listing::GSI2;
use crate::outbox::OUTBOX_GSI;

fn string_attribute(name: &str) -> Result<AttributeDefinition, BuildError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, BuildError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
}

/// A global secondary index on two string keys, projection ALL (every index the template declares).
fn index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, BuildError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
}

/// The catalog table: `pk` (S) only.
pub async fn create_catalog_table(
    client: &Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute("pk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .send()
        .await?;
    Ok(())
}

/// The orders table: `pk` (S) + `sk` (S), `gsi1` (`gsi1pk` + `gsi1sk`) and `gsi2` (`gsi2pk` +
/// `gsi2sk`), both projection ALL.
pub async fn create_orders_table(
    client: &Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let gsi1 = index(GSI1, "gsi1pk", "gsi1sk")?;
    let gsi2 = index(GSI2, "gsi2pk", "gsi2sk")?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute("pk")?)
        .attribute_definitions(string_attribute("sk")?)
        .attribute_definitions(string_attribute("gsi1pk")?)
        .attribute_definitions(string_attribute("gsi1sk")?)
        .attribute_definitions(string_attribute("gsi2pk")?)
        .attribute_definitions(string_attribute("gsi2sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi1)
        .global_secondary_indexes(gsi2)
        .send()
        .await?;
    Ok(())
}

/// A table keyed by two strings, `hash` + `range`, with no index (the invoices and imports
/// tables).
pub(crate) async fn create_keyed_table(
    client: &Client,
    name: &str,
    hash: &str,
    range: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(hash)?)
        .attribute_definitions(string_attribute(range)?)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .send()
        .await?;
    Ok(())
}

/// A table keyed by one string, `hash`, with no index (the marketplaces table:
/// [`crate::marketplaces::create_marketplaces_table`]).
pub(crate) async fn string_key_table(
    client: &Client,
    name: &str,
    hash: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(hash)?)
        .key_schema(key(hash, KeyType::Hash)?)
        .send()
        .await?;
    Ok(())
}

/// The outbox table as `template.yaml` declares it: `pk` (S), the `gsi1` index of pending records
/// by age (projection ALL), a keys-only stream.
pub async fn create_outbox_table(
    client: &Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let gsi = index(OUTBOX_GSI, "gsi1pk", "gsi1sk")?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute("pk")?)
        .attribute_definitions(string_attribute("gsi1pk")?)
        .attribute_definitions(string_attribute("gsi1sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .global_secondary_indexes(gsi)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::KeysOnly)
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}

/// Both tables, named `{prefix}-catalog` and `{prefix}-orders`; returns the two names.
pub async fn create_tables(
    client: &Client,
    prefix: &str,
) -> Result<(String, String), aws_sdk_dynamodb::Error> {
    let catalog = format!("{prefix}-catalog");
    let orders = format!("{prefix}-orders");
    create_catalog_table(client, &catalog).await?;
    create_orders_table(client, &orders).await?;
    Ok((catalog, orders))
}
