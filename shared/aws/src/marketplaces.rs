//! DynamoDB adapter of the marketplace registry ([`MarketplaceRegistry`]): the marketplaces table.
//!
//! # Table layout (mirrored by `template.yaml` and [`create_marketplaces_table`])
//!
//! Key `account` (S, hash), on-demand, no index.
//!
//! | attribute  | type | meaning |
//! |------------|------|---------|
//! | `account`  | S    | the marketplace's VTEX account name (`an`), lower case |
//! | `data`     | S    | the entry's stored shape (`storage_format::marketplace`), JSON |
//! | `enabled`  | BOOL | whether calls for the account go out; authoritative over `data`'s copy, so `disable` is one conditional UpdateItem |
//! | `sellerId` | S    | for operators reading the table |
//!
//! Access patterns:
//! - `get` → consistent GetItem (the CLI; functions read the list through `CachedRegistry`);
//! - `list` → Scan, pages followed, sorted here (a stack has a handful to a few hundred entries,
//!   read once a minute per warm function);
//! - `put` → PutItem (create or replace);
//! - `disable` → UpdateItem `SET enabled = false` conditioned on `attribute_exists(account)`.

use crate::dynamo::{Item, decode, encode, sdk_error};
use crate::schema::string_key_table;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::marketplaces::{AccountName, Marketplace, MarketplaceRegistry};
use domain::ports::StoreError;
use std::collections::HashMap;

const PK: &str = "account";

/// The registry over one table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoRegistry {
    client: Client,
    table: String,
}

impl DynamoRegistry {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoRegistry {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(account: &AccountName) -> Item {
        HashMap::from([(PK.to_string(), AttributeValue::S(account.to_string()))])
    }
}

/// The marketplaces table as the template declares it: `account` (S) hash key only.
pub async fn create_marketplaces_table(
    client: &Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    string_key_table(client, name, PK).await
}

fn to_item(m: &Marketplace) -> Result<Item, StoreError> {
    let mut item = DynamoRegistry::key(&m.account);
    item.insert("data".into(), AttributeValue::S(encode(m)?));
    item.insert("enabled".into(), AttributeValue::Bool(m.enabled));
    item.insert("sellerId".into(), AttributeValue::S(m.seller_id.clone()));
    Ok(item)
}

fn from_item(item: &Item) -> Result<Marketplace, StoreError> {
    let Some(AttributeValue::S(data)) = item.get("data") else {
        return Err(StoreError::Corrupt("marketplace item has no data".into()));
    };
    let mut m: Marketplace = decode(data)?;
    if let Some(AttributeValue::Bool(enabled)) = item.get("enabled") {
        m.enabled = *enabled;
    }
    Ok(m)
}

#[async_trait]
impl MarketplaceRegistry for DynamoRegistry {
    async fn get(&self, account: &AccountName) -> Result<Option<Marketplace>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?
            .item
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<Marketplace>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Scan", e))?;
            for item in page.items() {
                out.push(from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.account.cmp(&b.account));
        Ok(out)
    }

    async fn put(&self, marketplace: &Marketplace) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(marketplace)?))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    async fn disable(&self, account: &AccountName) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(account)))
            .update_expression("SET enabled = :off")
            .condition_expression("attribute_exists(account)")
            .expression_attribute_values(":off", AttributeValue::Bool(false))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
}

/// The registry a function reads: the table `table` (none: only `builtin`) under the built-in
/// entry, the list kept `ttl` ([`domain::marketplaces::CachedRegistry`]).
pub fn cached_registry(
    sdk: &aws_config::SdkConfig,
    table: Option<String>,
    builtin: Option<Marketplace>,
    ttl: std::time::Duration,
) -> std::sync::Arc<domain::marketplaces::CachedRegistry> {
    let inner: std::sync::Arc<dyn MarketplaceRegistry> = match table {
        Some(t) => std::sync::Arc::new(DynamoRegistry::new(Client::new(sdk), t)),
        None => std::sync::Arc::new(domain::marketplaces::NoTable),
    };
    std::sync::Arc::new(domain::marketplaces::CachedRegistry::new(
        inner, builtin, ttl,
    ))
}

/// The secrets the registry's entries name: Secrets Manager (kept `ttl`), after the plain
/// credentials of a local run under `plain_name` when given.
pub fn marketplace_secrets(
    sdk: &aws_config::SdkConfig,
    ttl: std::time::Duration,
    plain: Option<(&str, String)>,
) -> std::sync::Arc<dyn domain::marketplaces::SecretSource> {
    let first = domain::marketplaces::StaticSecrets::new();
    if let Some((name, value)) = plain {
        first.set(name, value);
    }
    std::sync::Arc::new(domain::marketplaces::FallbackSecrets {
        first,
        then: std::sync::Arc::new(crate::secrets::SecretsManagerSource::new(sdk, ttl)),
    })
}
