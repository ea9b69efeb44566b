//! The catalog table: SKUs with their stock counters, and the shipping rules (layout in the
//! module docs of [`crate::dynamo`]).

use super::expr::Expr;
use super::{
    AVAILABLE, Item, MAX_ATTEMPTS, MAX_BATCH_GET_KEYS, ON_HAND, RESERVED, backoff, build_error,
    decode, encode, get_consistent, get_n, get_s, level_value, n, put_if, s, sdk_error,
    stock_from_item, stock_value,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use domain::catalog::{LocationId, PriceEntry, Sku, SkuId, StockLevel};
use domain::ports::{CatalogReader, CatalogWriter, StoreError};
use domain::shipping::ShippingRules;
use domain::store_support::merge_stock;
use std::collections::{BTreeMap, HashMap, HashSet};

const RULES_PK: &str = "RULES";
/// Attempts at unprocessed BatchGetItem keys (throttling) before giving up.
const BATCH_GET_ATTEMPTS: u32 = 8;

pub(crate) fn sku_pk(id: &str) -> String {
    format!("SKU#{id}")
}

pub(crate) fn sku_key(id: &str) -> Item {
    HashMap::from([("pk".to_string(), s(sku_pk(id)))])
}

/// `CatalogReader` + `CatalogWriter` over the catalog table.
#[derive(Debug, Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCatalog {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn batch_get(&self, ids: Vec<SkuId>) -> Result<Vec<Item>, StoreError> {
        let keys: Vec<Item> = ids.iter().map(|id| sku_key(id)).collect();
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .build()
            .map_err(build_error)?;
        let mut found = Vec::new();
        for attempt in 0..BATCH_GET_ATTEMPTS {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|e| sdk_error("BatchGetItem", e))?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            match out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty())
            {
                None => return Ok(found),
                Some(rest) => {
                    pending = rest;
                    backoff(attempt).await;
                }
            }
        }
        Err(StoreError::Unavailable(
            "DynamoDB BatchGetItem: keys still unprocessed after retries".into(),
        ))
    }

    /// The SKU item's `rev` and stock, read consistently; `None` if the SKU does not exist.
    async fn read_stock(
        &self,
        sku_id: &str,
    ) -> Result<Option<(i64, BTreeMap<LocationId, StockLevel>)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(sku_key(sku_id)))
            .consistent_read(true)
            .projection_expression("#p, #s, #r")
            .expression_attribute_names("#p", "pk")
            .expression_attribute_names("#s", "stock")
            .expression_attribute_names("#r", "rev")
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let rev = if item.contains_key("rev") {
            get_n(&item, "rev")?
        } else {
            0
        };
        Ok(Some((rev, stock_from_item(&item)?)))
    }
}

/// Distinct ids in chunks BatchGetItem accepts: ⌈distinct / 100⌉ requests.
pub(crate) fn key_chunks(ids: &[SkuId]) -> Vec<Vec<SkuId>> {
    let mut seen = HashSet::new();
    let distinct: Vec<SkuId> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect();
    distinct
        .chunks(MAX_BATCH_GET_KEYS)
        .map(<[SkuId]>::to_vec)
        .collect()
}

fn sku_from_item(item: &Item) -> Result<Sku, StoreError> {
    let mut sku: Sku = decode(get_s(item, "data")?)?;
    sku.stock = stock_from_item(item)?;
    Ok(sku)
}

#[async_trait]
impl CatalogReader for DynamoCatalog {
    async fn get_skus(&self, ids: &[SkuId]) -> Result<HashMap<SkuId, Sku>, StoreError> {
        let chunks = key_chunks(ids);
        let items =
            futures::future::try_join_all(chunks.into_iter().map(|c| self.batch_get(c))).await?;
        items
            .into_iter()
            .flatten()
            .map(|item| sku_from_item(&item).map(|sku| (sku.id.clone(), sku)))
            .collect()
    }

    /// Consistent GetItem: the catalog sync diffs against it right after its own writes.
    async fn get_sku(&self, id: &str) -> Result<Option<Sku>, StoreError> {
        get_consistent(&self.client, &self.table, sku_key(id))
            .await?
            .map(|item| sku_from_item(&item))
            .transpose()
    }

    async fn shipping_rules(&self) -> Result<Option<ShippingRules>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(RULES_PK))
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        out.item
            .map(|item| decode(get_s(&item, "data")?))
            .transpose()
    }
}

#[async_trait]
impl CatalogWriter for DynamoCatalog {
    async fn upsert_sku(&self, sku: &Sku) -> Result<(), StoreError> {
        let mut data = sku.clone();
        data.stock.clear();
        let data = encode(&data)?;
        for attempt in 0..MAX_ATTEMPTS {
            let current = self.read_stock(&sku.id).await?;
            let (rev, old_stock) = current.clone().unwrap_or_default();
            let mut e = Expr::default();
            let condition = match current {
                None => format!("attribute_not_exists({})", e.name("pk")),
                Some(_) => {
                    // Holds taken since the read change `reserved` without touching `rev`.
                    let rev_name = e.name("rev");
                    let rev_value = e.value(n(rev));
                    let mut terms = vec![if rev == 0 {
                        format!("(attribute_not_exists({rev_name}) OR {rev_name} = {rev_value})")
                    } else {
                        format!("{rev_name} = {rev_value}")
                    }];
                    for (loc, level) in &old_stock {
                        let path = e.path(&["stock", loc, RESERVED]);
                        let value = e.value(n(level.reserved));
                        terms.push(format!("{path} = {value}"));
                    }
                    terms.join(" AND ")
                }
            };
            let item = HashMap::from([
                ("pk".to_string(), s(sku_pk(&sku.id))),
                ("data".to_string(), s(data.clone())),
                (
                    "stock".to_string(),
                    stock_value(&merge_stock(&sku.stock, &old_stock)),
                ),
                ("rev".to_string(), n(rev + 1)),
            ]);
            let (names, values) = (e.names(), e.values());
            if put_if(&self.client, &self.table, item, condition, names, values).await? {
                return Ok(());
            }
            backoff(attempt).await
        }
        Err(StoreError::Unavailable(format!(
            "upsert of SKU {} kept conflicting with concurrent writes",
            sku.id
        )))
    }

    async fn set_on_hand(
        &self,
        sku_id: &str,
        location: &str,
        on_hand: i64,
    ) -> Result<bool, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let Some((_, stock)) = self.read_stock(sku_id).await? else {
                return Ok(false);
            };
            let mut e = Expr::default();
            let rev = e.name("rev");
            let bump = format!(
                "{rev} = if_not_exists({rev}, {}) + {}",
                e.value(n(0)),
                e.value(n(1))
            );
            let (update, condition) = match stock.get(location) {
                Some(level) => {
                    let on_hand_path = e.path(&["stock", location, ON_HAND]);
                    let available_path = e.path(&["stock", location, AVAILABLE]);
                    let reserved_path = e.path(&["stock", location, RESERVED]);
                    (
                        format!(
                            "SET {on_hand_path} = {}, {available_path} = {}, {bump}",
                            e.value(n(on_hand)),
                            e.value(n(on_hand - level.reserved))
                        ),
                        format!("{reserved_path} = {}", e.value(n(level.reserved))),
                    )
                }
                None => {
                    let location_path = e.path(&["stock", location]);
                    let level = level_value(&StockLevel {
                        on_hand,
                        reserved: 0,
                    });
                    (
                        format!("SET {location_path} = {}, {bump}", e.value(level)),
                        format!(
                            "attribute_exists({}) AND attribute_not_exists({location_path})",
                            e.name("pk")
                        ),
                    )
                }
            };
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(sku_key(sku_id)))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(true),
                Err(err)
                    if matches!(
                        err.as_service_error(),
                        Some(UpdateItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    backoff(attempt).await
                }
                Err(err) => return Err(sdk_error("UpdateItem", err)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "stock update of SKU {sku_id} kept conflicting with concurrent writes"
        )))
    }

    /// Read `data` and `rev` consistently, rewrite `data` with the new prices conditioned on the
    /// `rev` read (an `upsert_sku` in between makes it start over). The stock map is not touched,
    /// so holds taken meanwhile are never at risk.
    async fn set_prices(&self, sku_id: &str, prices: &[PriceEntry]) -> Result<bool, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(sku_key(sku_id)))
                .consistent_read(true)
                .projection_expression("#d, #r")
                .expression_attribute_names("#d", "data")
                .expression_attribute_names("#r", "rev")
                .send()
                .await
                .map_err(|e| sdk_error("GetItem", e))?;
            let Some(item) = out.item else {
                return Ok(false);
            };
            let rev = if item.contains_key("rev") {
                get_n(&item, "rev")?
            } else {
                0
            };
            let mut data: Sku = decode(get_s(&item, "data")?)?;
            data.prices = prices.to_vec();
            data.stock.clear();
            let mut e = Expr::default();
            let data_name = e.name("data");
            let rev_name = e.name("rev");
            let data_value = e.value(s(encode(&data)?));
            let new_rev = e.value(n(rev + 1));
            let old_rev = e.value(n(rev));
            let condition = if rev == 0 {
                format!(
                    "attribute_exists({}) AND (attribute_not_exists({rev_name}) OR {rev_name} = {old_rev})",
                    e.name("pk")
                )
            } else {
                format!("{rev_name} = {old_rev}")
            };
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(sku_key(sku_id)))
                .update_expression(format!(
                    "SET {data_name} = {data_value}, {rev_name} = {new_rev}"
                ))
                .condition_expression(condition)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(true),
                Err(err)
                    if matches!(
                        err.as_service_error(),
                        Some(UpdateItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    backoff(attempt).await
                }
                Err(err) => return Err(sdk_error("UpdateItem", err)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "price update of SKU {sku_id} kept conflicting with concurrent writes"
        )))
    }

    async fn put_shipping_rules(&self, rules: &ShippingRules) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(RULES_PK))
            .item("data", AttributeValue::S(encode(rules)?))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_skus_batches_distinct_ids_in_chunks_of_at_most_100() {
        let mut ids: Vec<SkuId> = (0..250).map(|i| i.to_string()).collect();
        ids.extend((0..50).map(|i| i.to_string()));
        let chunks = key_chunks(&ids);
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.len() <= MAX_BATCH_GET_KEYS));
        let all: HashSet<&SkuId> = chunks.iter().flatten().collect();
        assert_eq!(all.len(), 250);
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 250);
    }

    #[test]
    fn exactly_100_distinct_ids_is_one_request() {
        let ids: Vec<SkuId> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(key_chunks(&ids).len(), 1);
        assert!(key_chunks(&[]).is_empty());
    }

    #[test]
    fn stock_item_round_trips_and_stores_the_unclamped_difference() {
        let stock = BTreeMap::from([(
            "w1".to_string(),
            StockLevel {
                on_hand: 2,
                reserved: 5,
            },
        )]);
        let item = HashMap::from([("stock".to_string(), stock_value(&stock))]);
        assert_eq!(stock_from_item(&item).unwrap(), stock);
        let AttributeValue::M(locs) = &item["stock"] else {
            panic!("stock is a map")
        };
        let AttributeValue::M(level) = &locs["w1"] else {
            panic!("level is a map")
        };
        assert_eq!(get_n(level, AVAILABLE).unwrap(), -3);
    }
}
