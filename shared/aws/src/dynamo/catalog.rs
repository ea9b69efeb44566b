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
use domain::ports::{
    CatalogReader, CatalogWriter, LocationStock, SnapshotOutcome, StockMarks, StockSnapshot,
    StoreError,
};
use domain::shipping::ShippingRules;
use domain::store_support::merge_stock;
use std::collections::{BTreeMap, HashMap, HashSet};
use storage_format::catalog::{AS_OF, SHIPPED_AT, StockMarksV1, mark_time};

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
    /// One conditional UpdateItem of the SKU item: `false` when its condition failed (someone
    /// wrote in between; the caller re-reads and decides), an error for anything else.
    async fn update_if(
        &self,
        sku_id: &str,
        update: String,
        condition: String,
        e: &Expr,
    ) -> Result<bool, StoreError> {
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
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(sdk_error("UpdateItem", err)),
        }
    }

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

    /// The SKU item's `rev`, stock and ordering marks, read consistently; `None` if the SKU does
    /// not exist.
    async fn read_stock(&self, sku_id: &str) -> Result<Option<StockRead>, StoreError> {
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
        Ok(Some(StockRead {
            rev,
            stock: stock_from_item(&item)?,
            marks: marks_from_item(&item)?,
        }))
    }
}

/// The UpdateItem of a stock count over a location read as `level` (`None`: not there yet):
/// `(update, condition, placeholders)`. The condition holds the ordering test (a count older
/// than the location's `asOf`, or not after its `shippedAt`, fails it) beside the test that the
/// read is still current (`reserved` unchanged, or the location still absent).
fn snapshot_write(snapshot: &StockSnapshot, level: Option<&StockLevel>) -> (String, String, Expr) {
    let location = snapshot.location.as_str();
    let mut e = Expr::default();
    let rev = e.name("rev");
    let bump = format!(
        "{rev} = if_not_exists({rev}, {}) + {}",
        e.value(n(0)),
        e.value(n(1))
    );
    let (mut sets, mut conditions) = match level {
        Some(level) => {
            let on_hand_path = e.path(&["stock", location, ON_HAND]);
            let available_path = e.path(&["stock", location, AVAILABLE]);
            let reserved_path = e.path(&["stock", location, RESERVED]);
            (
                vec![
                    format!("{on_hand_path} = {}", e.value(n(snapshot.on_hand))),
                    format!(
                        "{available_path} = {}",
                        e.value(n(snapshot.on_hand - level.reserved))
                    ),
                ],
                vec![format!("{reserved_path} = {}", e.value(n(level.reserved)))],
            )
        }
        None => {
            let location_path = e.path(&["stock", location]);
            let mut level = level_value(&StockLevel {
                on_hand: snapshot.on_hand,
                reserved: 0,
            });
            // A new location has no marks to test; it starts with the count's.
            if let (AttributeValue::M(m), Some(at)) = (&mut level, snapshot.as_of) {
                m.insert(AS_OF.to_string(), s(mark_time(at)));
            }
            (
                vec![format!("{location_path} = {}", e.value(level))],
                vec![format!(
                    "attribute_exists({}) AND attribute_not_exists({location_path})",
                    e.name("pk")
                )],
            )
        }
    };
    // The ordering test, in the write: the marks of an existing location. (A new one has
    // none; it starts with the count's, set above.)
    if let Some(at) = snapshot.as_of.filter(|_| level.is_some()) {
        let as_of = e.value(s(mark_time(at)));
        let as_of_path = e.path(&["stock", location, AS_OF]);
        let shipped_path = e.path(&["stock", location, SHIPPED_AT]);
        conditions.push(format!(
            "(attribute_not_exists({as_of_path}) OR {as_of_path} <= {as_of})"
        ));
        conditions.push(format!(
            "(attribute_not_exists({shipped_path}) OR {shipped_path} < {as_of})"
        ));
        sets.push(format!("{as_of_path} = {as_of}"));
    }
    sets.push(bump);
    (
        format!("SET {}", sets.join(", ")),
        conditions.join(" AND "),
        e,
    )
}

/// What [`DynamoCatalog::read_stock`] read of a SKU item.
#[derive(Debug, Clone, Default)]
struct StockRead {
    rev: i64,
    stock: BTreeMap<LocationId, StockLevel>,
    /// Locations with at least one mark.
    marks: BTreeMap<LocationId, StockMarks>,
}

/// The ordering marks kept in each location's map of `stock` (`asOf`, `shippedAt`; absent on
/// locations written before them).
fn marks_from_item(item: &Item) -> Result<BTreeMap<LocationId, StockMarks>, StoreError> {
    let Some(AttributeValue::M(locations)) = item.get("stock") else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (loc, level) in locations {
        let AttributeValue::M(level) = level else {
            continue;
        };
        let text = |name: &str| match level.get(name) {
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            None => Ok(None),
            Some(_) => Err(StoreError::Corrupt(format!(
                "stock mark {name} of location {loc} is not a string"
            ))),
        };
        let shape = StockMarksV1 {
            as_of: text(AS_OF)?,
            shipped_at: text(SHIPPED_AT)?,
        };
        if shape != StockMarksV1::default() {
            let marks = shape.to_marks().map_err(|e| StoreError::Corrupt(e.0))?;
            out.insert(loc.clone(), marks);
        }
    }
    Ok(out)
}

/// `stock` as [`stock_value`] writes it, each location's marks kept beside its counters.
fn stock_value_with_marks(
    stock: &BTreeMap<LocationId, StockLevel>,
    marks: &BTreeMap<LocationId, StockMarks>,
) -> AttributeValue {
    let AttributeValue::M(mut locations) = stock_value(stock) else {
        unreachable!("stock_value builds a map")
    };
    for (loc, m) in marks {
        if let Some(AttributeValue::M(level)) = locations.get_mut(loc) {
            let shape = StockMarksV1::from_marks(m);
            level.extend(shape.as_of.map(|v| (AS_OF.to_string(), s(v))));
            level.extend(shape.shipped_at.map(|v| (SHIPPED_AT.to_string(), s(v))));
        }
    }
    AttributeValue::M(locations)
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
            let exists = current.is_some();
            let StockRead {
                rev,
                stock: old_stock,
                marks,
            } = current.unwrap_or_default();
            let mut e = Expr::default();
            let condition = match exists {
                false => format!("attribute_not_exists({})", e.name("pk")),
                true => {
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
                    stock_value_with_marks(&merge_stock(&sku.stock, &old_stock), &marks),
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
            let Some(StockRead { stock, .. }) = self.read_stock(sku_id).await? else {
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
            if self.update_if(sku_id, update, condition, &e).await? {
                return Ok(true);
            }
            backoff(attempt).await;
        }
        Err(StoreError::Unavailable(format!(
            "stock update of SKU {sku_id} kept conflicting with concurrent writes"
        )))
    }

    async fn stock_location(
        &self,
        sku_id: &str,
        location: &str,
    ) -> Result<Option<LocationStock>, StoreError> {
        Ok(self.read_stock(sku_id).await?.map(|read| LocationStock {
            level: read.stock.get(location).copied(),
            marks: read.marks.get(location).copied().unwrap_or_default(),
        }))
    }

    /// Consistent read, then one UpdateItem whose condition carries the ordering test
    /// (`asOf` not after the count's, `shippedAt` before it) beside the `reserved` test of
    /// [`CatalogWriter::set_on_hand`]. A failed condition re-reads: a mark that makes the count
    /// stale never moves back, so refusing on that read is final; anything else (a hold taken
    /// meanwhile) is tried again.
    async fn apply_stock_snapshot(
        &self,
        snapshot: &StockSnapshot,
    ) -> Result<SnapshotOutcome, StoreError> {
        let (sku_id, location) = (snapshot.sku_id.as_str(), snapshot.location.as_str());
        for attempt in 0..MAX_ATTEMPTS {
            let Some(read) = self.read_stock(sku_id).await? else {
                return Ok(SnapshotOutcome::UnknownSku);
            };
            let marks = read.marks.get(location).copied().unwrap_or_default();
            if let Some(stale) = snapshot.as_of.and_then(|at| marks.refuses(at)) {
                return Ok(SnapshotOutcome::Stale(stale));
            }
            let previous = read.stock.get(location).map(|l| l.on_hand);
            let (update, condition, e) = snapshot_write(snapshot, read.stock.get(location));
            if self.update_if(sku_id, update, condition, &e).await? {
                return Ok(SnapshotOutcome::Applied { previous });
            }
            backoff(attempt).await;
        }
        Err(StoreError::Unavailable(format!(
            "stock count of SKU {sku_id} kept conflicting with concurrent writes"
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
            let update = format!("SET {data_name} = {data_value}, {rev_name} = {new_rev}");
            if self.update_if(sku_id, update, condition, &e).await? {
                return Ok(true);
            }
            backoff(attempt).await;
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
    fn a_stock_count_write_defines_exactly_the_placeholders_it_uses() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T08:55:00-03:00")
            .unwrap()
            .to_utc();
        let level = StockLevel {
            on_hand: 4,
            reserved: 1,
        };
        for as_of in [None, Some(at)] {
            for current in [None, Some(&level)] {
                let snapshot = StockSnapshot {
                    sku_id: "a".into(),
                    location: "w1".into(),
                    on_hand: 7,
                    as_of,
                };
                let (update, condition, e) = snapshot_write(&snapshot, current);
                let problems = super::super::expr::placeholder_problems(
                    &[Some(&update), Some(&condition)],
                    e.names().as_ref(),
                    e.values().as_ref(),
                );
                assert!(problems.is_empty(), "{as_of:?} {current:?}: {problems:?}");
                let ordered = as_of.is_some() && current.is_some();
                assert_eq!(condition.contains("<="), ordered, "{condition}");
            }
        }
    }

    #[test]
    fn marks_survive_a_stock_rewrite_and_an_item_without_them_reads_none() {
        let stock = BTreeMap::from([
            (
                "w1".to_string(),
                StockLevel {
                    on_hand: 2,
                    reserved: 1,
                },
            ),
            ("w2".to_string(), StockLevel::default()),
        ]);
        let old = HashMap::from([("stock".to_string(), stock_value(&stock))]);
        assert!(marks_from_item(&old).unwrap().is_empty());
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .to_utc();
        let marks = BTreeMap::from([(
            "w1".to_string(),
            StockMarks {
                as_of: Some(at),
                shipped_at: None,
            },
        )]);
        let item = HashMap::from([("stock".to_string(), stock_value_with_marks(&stock, &marks))]);
        assert_eq!(marks_from_item(&item).unwrap(), marks);
        assert_eq!(stock_from_item(&item).unwrap(), stock);
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
