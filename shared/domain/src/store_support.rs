//! Helpers every storage adapter shares: loading a catalog file through the write port, and the
//! per-(SKU, location) aggregation of an order's stock holds.

use crate::catalog::{CatalogFile, LocationId, SkuId, StockLevel};
use crate::order::OrderLine;
use crate::ports::{CatalogWriter, StoreError};
use futures::stream::{self, TryStreamExt};
use std::collections::BTreeMap;

/// SKU upserts in flight at once: enough to hide a remote store's latency, few enough not to
/// throttle an on-demand table.
const LOAD_CONCURRENCY: usize = 16;

/// Writes every SKU of `file` (keeping the store's reservations, see
/// [`CatalogWriter::upsert_sku`]) and then its shipping rules. Returns the number of SKUs written.
pub async fn load_catalog(
    writer: &dyn CatalogWriter,
    file: &CatalogFile,
) -> Result<usize, StoreError> {
    stream::iter(file.skus.iter().map(Ok))
        .try_for_each_concurrent(LOAD_CONCURRENCY, |sku| writer.upsert_sku(sku))
        .await?;
    writer.put_shipping_rules(&file.shipping_rules).await?;
    Ok(file.skus.len())
}

/// Units of one SKU held at one location by an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockHold {
    pub sku_id: SkuId,
    pub location_id: LocationId,
    pub quantity: i64,
}

/// The order's lines summed per `(sku, location)`, in order of first appearance, so a store
/// touches each stock counter once and reports the first line that cannot be held.
///
/// A line with a quantity below 1 is a bug upstream (placement validates quantities): it would
/// *add* stock, so it is refused as an error rather than written.
pub fn aggregate_holds(lines: &[OrderLine]) -> Result<Vec<StockHold>, StoreError> {
    let mut holds: Vec<StockHold> = Vec::new();
    for line in lines {
        if line.quantity < 1 {
            return Err(StoreError::Limit(format!(
                "line {} has quantity {}; stock holds need at least 1",
                line.index, line.quantity
            )));
        }
        match holds
            .iter_mut()
            .find(|h| h.sku_id == line.sku_id && h.location_id == line.location_id)
        {
            Some(h) => {
                h.quantity = h.quantity.checked_add(line.quantity).ok_or_else(|| {
                    StoreError::Limit(format!(
                        "line {}: the units held of SKU {} overflow",
                        line.index, line.sku_id
                    ))
                })?
            }
            None => holds.push(StockHold {
                sku_id: line.sku_id.clone(),
                location_id: line.location_id.clone(),
                quantity: line.quantity,
            }),
        }
    }
    Ok(holds)
}

/// [`aggregate_holds`] grouped by SKU (first appearance order), for stores that keep all locations
/// of a SKU in one record and must touch each record once per atomic write.
pub fn holds_by_sku(holds: &[StockHold]) -> Vec<(SkuId, Vec<(LocationId, i64)>)> {
    let mut by_sku: Vec<(SkuId, Vec<(LocationId, i64)>)> = Vec::new();
    for h in holds {
        match by_sku.iter_mut().find(|(s, _)| *s == h.sku_id) {
            Some((_, locs)) => locs.push((h.location_id.clone(), h.quantity)),
            None => by_sku.push((h.sku_id.clone(), vec![(h.location_id.clone(), h.quantity)])),
        }
    }
    by_sku
}

/// The SKU's new on-hand figures with the store's old reservations (input `reserved` values are
/// ignored). A location that disappeared from the ERP's data but still holds units stays (on
/// hand 0) so those holds can be released or shipped later.
pub fn merge_stock(
    new: &BTreeMap<String, StockLevel>,
    old: &BTreeMap<String, StockLevel>,
) -> BTreeMap<String, StockLevel> {
    let mut merged: BTreeMap<String, StockLevel> = new
        .iter()
        .map(|(loc, level)| {
            let reserved = old.get(loc).map_or(0, |o| o.reserved);
            (
                loc.clone(),
                StockLevel {
                    on_hand: level.on_hand,
                    reserved,
                },
            )
        })
        .collect();
    for (loc, level) in old {
        if level.reserved != 0 && !merged.contains_key(loc) {
            merged.insert(
                loc.clone(),
                StockLevel {
                    on_hand: 0,
                    reserved: level.reserved,
                },
            );
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Cents;

    fn line(index: usize, sku: &str, loc: &str, quantity: i64) -> OrderLine {
        OrderLine {
            index,
            sku_id: sku.into(),
            quantity,
            unit_price: Cents(100),
            freight: Cents(0),
            selected_sla: None,
            location_id: loc.into(),
            lock_ttl: None,
            shipping_estimate: None,
            delivery_window: None,
        }
    }

    #[test]
    fn lines_of_the_same_sku_and_location_are_summed_in_first_appearance_order() {
        let holds = aggregate_holds(&[
            line(0, "b", "w1", 1),
            line(1, "a", "w1", 2),
            line(2, "b", "w1", 3),
            line(3, "b", "w2", 4),
        ])
        .unwrap();
        let got: Vec<_> = holds
            .iter()
            .map(|h| (h.sku_id.as_str(), h.location_id.as_str(), h.quantity))
            .collect();
        assert_eq!(got, vec![("b", "w1", 4), ("a", "w1", 2), ("b", "w2", 4)]);
        let grouped = holds_by_sku(&holds);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].0, "b");
        assert_eq!(
            grouped[0].1,
            vec![("w1".to_string(), 4), ("w2".to_string(), 4)]
        );
    }

    #[test]
    fn non_positive_quantity_is_refused() {
        assert!(matches!(
            aggregate_holds(&[line(0, "a", "w", 0)]),
            Err(StoreError::Limit(_))
        ));
    }

    #[test]
    fn upsert_merge_keeps_reservations_of_vanished_locations() {
        let old = BTreeMap::from([
            (
                "w1".to_string(),
                StockLevel {
                    on_hand: 5,
                    reserved: 2,
                },
            ),
            (
                "w2".to_string(),
                StockLevel {
                    on_hand: 5,
                    reserved: 0,
                },
            ),
        ]);
        let new = BTreeMap::from([(
            "w3".to_string(),
            StockLevel {
                on_hand: 7,
                reserved: 99,
            },
        )]);
        let merged = merge_stock(&new, &old);
        assert_eq!(
            merged,
            BTreeMap::from([
                (
                    "w1".to_string(),
                    StockLevel {
                        on_hand: 0,
                        reserved: 2
                    }
                ),
                (
                    "w3".to_string(),
                    StockLevel {
                        on_hand: 7,
                        reserved: 0
                    }
                ),
            ])
        );
    }
}
