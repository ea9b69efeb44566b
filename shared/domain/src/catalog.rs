//! The seller's catalog as the connector sees it: one record per seller SKU with prices per
//! price list, stock per location (warehouse or pickup point), dimensions and the product data a
//! SKU suggestion needs.

use crate::money::Cents;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type SkuId = String;
/// A stock location: a warehouse a carrier ships from, or a pickup point with its own shelf.
pub type LocationId = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    pub id: SkuId,
    #[serde(default = "default_true")]
    pub active: bool,
    pub name: String,
    /// Price lists, most specific match wins (see [`Sku::price_for`]).
    pub prices: Vec<PriceEntry>,
    /// Stock per location. Sellable stock is `on_hand - reserved`, never below zero.
    #[serde(default)]
    pub stock: BTreeMap<LocationId, StockLevel>,
    /// Sales channels (`sc`) the SKU is offered on; empty means every channel.
    #[serde(default)]
    pub sales_channels: Vec<String>,
    #[serde(default)]
    pub dimensions: Dimensions,
    #[serde(default = "default_unit")]
    pub measurement_unit: String,
    #[serde(default = "default_multiplier")]
    pub unit_multiplier: i64,
    #[serde(default)]
    pub offerings: Vec<Offering>,
    /// Product data used for SKU suggestions (§SKU suggestion). Optional for simulation-only
    /// catalogs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<ProductInfo>,
}

fn default_true() -> bool {
    true
}
fn default_unit() -> String {
    "un".to_string()
}
fn default_multiplier() -> i64 {
    1
}

/// A price for one `(an, sc)` scope. `None` in a scope field matches any value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub an: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sc: Option<String>,
    pub price: Cents,
    pub list_price: Cents,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLevel {
    /// Units physically available, as the ERP last reported them.
    pub on_hand: i64,
    /// Units held by reservations and authorized orders not yet shipped.
    #[serde(default)]
    pub reserved: i64,
}

impl StockLevel {
    pub fn sellable(&self) -> i64 {
        (self.on_hand - self.reserved).max(0)
    }
}

/// Package dimensions: centimetres and grams, as the suggestion API wants them (§SKU suggestion).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dimensions {
    pub height_cm: f64,
    pub width_cm: f64,
    pub length_cm: f64,
    pub weight_g: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offering {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub price: Cents,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfo {
    pub product_id: String,
    pub product_name: String,
    #[serde(default)]
    pub description: String,
    pub brand: String,
    /// `Department/Category[/Subcategory]`, as it exists in the marketplace.
    pub category_path: String,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub product_specifications: Vec<Specification>,
    #[serde(default)]
    pub sku_specifications: Vec<Specification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Specification {
    pub name: String,
    pub values: Vec<String>,
}

impl Sku {
    /// The most specific price entry for `(an, sc)`: exact match, then `an` only, then `sc` only,
    /// then the catch-all. `None` when the SKU has no price for this scope (it is then unavailable).
    pub fn price_for(&self, an: Option<&str>, sc: Option<&str>) -> Option<&PriceEntry> {
        self.best_price(an, sc, |_| true)
    }

    /// [`Sku::price_for`] among the entries still in force at `now`: an entry whose `valid_until`
    /// has passed is not quoted, so the next most specific entry applies (or none: no price).
    pub fn price_at(
        &self,
        an: Option<&str>,
        sc: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<&PriceEntry> {
        self.best_price(an, sc, |p| p.valid_until.is_none_or(|until| until > now))
    }

    fn best_price(
        &self,
        an: Option<&str>,
        sc: Option<&str>,
        in_force: impl Fn(&PriceEntry) -> bool,
    ) -> Option<&PriceEntry> {
        let score = |p: &PriceEntry| -> Option<u8> {
            let an_ok = match (&p.an, an) {
                (None, _) => Some(0),
                (Some(a), Some(b)) if a == b => Some(2),
                _ => None,
            }?;
            let sc_ok = match (&p.sc, sc) {
                (None, _) => Some(0),
                (Some(a), Some(b)) if a == b => Some(1),
                _ => None,
            }?;
            Some(an_ok + sc_ok)
        };
        self.prices
            .iter()
            .filter(|p| in_force(p))
            .filter_map(|p| score(p).map(|s| (s, p)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, p)| p)
    }

    pub fn offered_on(&self, sc: Option<&str>) -> bool {
        match sc {
            _ if self.sales_channels.is_empty() => true,
            Some(sc) => self.sales_channels.iter().any(|c| c == sc),
            None => true,
        }
    }

    pub fn sellable_at(&self, location: &str) -> i64 {
        self.stock.get(location).map_or(0, StockLevel::sellable)
    }

    pub fn total_sellable(&self) -> i64 {
        self.stock.values().map(StockLevel::sellable).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(an: Option<&str>, sc: Option<&str>, price: i64) -> PriceEntry {
        PriceEntry {
            an: an.map(str::to_string),
            sc: sc.map(str::to_string),
            price: Cents(price),
            list_price: Cents(price),
            valid_until: None,
        }
    }

    fn sku(prices: Vec<PriceEntry>) -> Sku {
        Sku {
            id: "1".into(),
            active: true,
            name: "x".into(),
            prices,
            stock: BTreeMap::new(),
            sales_channels: vec![],
            dimensions: Dimensions::default(),
            measurement_unit: "un".into(),
            unit_multiplier: 1,
            offerings: vec![],
            product: None,
        }
    }

    #[test]
    fn most_specific_price_wins() {
        let s = sku(vec![
            entry(None, None, 100),
            entry(None, Some("2"), 90),
            entry(Some("mkp"), None, 80),
            entry(Some("mkp"), Some("2"), 70),
        ]);
        assert_eq!(s.price_for(None, None).unwrap().price, Cents(100));
        assert_eq!(s.price_for(None, Some("2")).unwrap().price, Cents(90));
        assert_eq!(
            s.price_for(Some("mkp"), Some("1")).unwrap().price,
            Cents(80)
        );
        assert_eq!(
            s.price_for(Some("mkp"), Some("2")).unwrap().price,
            Cents(70)
        );
        assert_eq!(
            s.price_for(Some("other"), Some("3")).unwrap().price,
            Cents(100)
        );
    }

    #[test]
    fn no_catch_all_means_no_price_outside_scope() {
        let s = sku(vec![entry(Some("mkp"), None, 80)]);
        assert!(s.price_for(Some("other"), None).is_none());
    }

    #[test]
    fn an_expired_price_gives_way_to_the_next_one_in_force() {
        let now = Utc::now();
        let mut promo = entry(None, Some("2"), 90);
        promo.valid_until = Some(now);
        let mut later = entry(None, None, 100);
        later.valid_until = Some(now + chrono::Duration::seconds(1));
        let s = sku(vec![promo, later]);
        assert_eq!(s.price_at(None, Some("2"), now).unwrap().price, Cents(100));
        let after = now + chrono::Duration::seconds(1);
        assert!(s.price_at(None, Some("2"), after).is_none());
        assert_eq!(s.price_for(None, Some("2")).unwrap().price, Cents(90));
    }

    #[test]
    fn sellable_never_negative() {
        let l = StockLevel {
            on_hand: 2,
            reserved: 5,
        };
        assert_eq!(l.sellable(), 0);
    }
}

/// The catalog file format (README "Catalog file"): what the seller owns, loaded into DynamoDB or
/// the embedded store by the bulk loader and by the local runner at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogFile {
    pub version: u32,
    pub shipping_rules: crate::shipping::ShippingRules,
    pub skus: Vec<Sku>,
}
